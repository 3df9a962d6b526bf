"""Volume tiers: the month's running count per workspace, category and market picks each
WhatsApp message's rate, exactly, even when batches arrive at once."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from tests.factories import (
    ChannelFactory,
    WorkspaceFactory,
    fund,
    tiered_whatsapp_price_list,
    usage_ingest_concurrently,
    wallet_of,
)
from usage.models import DailyUsageRollup, UsageRecord, WhatsAppVolume
from usage.services import usage_ingest
from wallets.selectors import ledger_verify

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def utility(n: int, channel, country: str = "US") -> dict:
    return {
        "id": f"u-{country}-{n}",
        "channel": channel.id,
        "type": "whatsapp",
        "direction": "outbound",
        "status": "delivered",
        "country": country,
        "occurred_at": "2026-11-20T09:30:00Z",
        "pricing": {"pricing_model": "PMP", "category": "utility", "type": "regular"},
    }


def whatsapp_channel(workspace):
    tiered_whatsapp_price_list()
    channel = ChannelFactory(workspace=workspace, kind="whatsapp_cloud")
    fund(wallet_of(workspace, "whatsapp"), "100.00", key=f"fund:{workspace.slug}")
    return channel


@pytest.mark.django_db
def test_the_first_message_past_a_boundary_is_charged_at_the_next_tiers_rate(workspace):
    channel = whatsapp_channel(workspace)
    usage_ingest(workspace=workspace, events=[utility(n, channel) for n in range(1, 5)], now=NOW)

    result = usage_ingest(
        workspace=workspace,
        events=[*(utility(n, channel) for n in range(5, 9)), utility(1, channel, country="BR")],
        now=NOW,
    )

    tiers = dict(UsageRecord.objects.filter(country="US").values_list("message_id", "tier"))
    assert tiers == {f"u-US-{n}": 1 if n <= 5 else 2 for n in range(1, 9)}
    assert UsageRecord.objects.get(message_id="u-US-6").cost == Decimal("0.005000")
    assert UsageRecord.objects.get(message_id="u-US-5").cost == Decimal("0.010000")
    # 0.010 for the 5th, 3 x 0.005 for the 6th to 8th, BR in the default market's flat 0.020
    assert result.charged["whatsapp"] == Decimal("0.045000")
    # Only tiered rates are counted: the default market's flat rate needs no count.
    assert dict(WhatsAppVolume.objects.values_list("market", "messages")) == {"US": 8}


@pytest.mark.django_db
def test_free_and_failed_messages_do_not_count_toward_the_tier(workspace):
    channel = whatsapp_channel(workspace)
    free = [utility(n, channel) for n in range(1, 4)]
    for event in free:
        event["pricing"]["type"] = "free_customer_service"
    failed = [utility(n, channel) | {"status": "failed"} for n in range(4, 7)]

    usage_ingest(workspace=workspace, events=[*free, *failed, utility(7, channel)], now=NOW)

    assert WhatsAppVolume.objects.get().messages == 1
    assert UsageRecord.objects.get(message_id="u-US-7").tier == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_straddling_the_boundaries_take_each_place_once():
    """Real threads and PostgreSQL transactions (hence transaction=True): four batches of
    three race over the 6th and 11th message; each rate must go to exactly its places."""
    workspace = WorkspaceFactory()
    channel = whatsapp_channel(workspace)
    batches = [[utility(batch * 3 + n, channel) for n in range(1, 4)] for batch in range(4)]

    results = usage_ingest_concurrently(workspace, batches, now=NOW)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.accepted for r in results) == 12
    per_tier = dict(UsageRecord.objects.values("tier").annotate(n=Sum("segments")).values_list("tier", "n"))
    assert per_tier == {1: 5, 2: 5, 3: 2}
    assert sum(r.charged["whatsapp"] for r in results) == Decimal("0.079000")  # 5 x .010 + 5 x .005 + 2 x .002
    assert WhatsAppVolume.objects.get().messages == 12
    wallet = wallet_of(workspace, "whatsapp")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("99.921000")
    assert DailyUsageRollup.objects.aggregate(cost=Sum("cost"))["cost"] == Decimal("0.079000")
    assert ledger_verify().problems == []
