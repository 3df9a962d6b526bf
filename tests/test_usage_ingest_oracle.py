"""The set-based ingest (one price book per batch, one INSERT, one rollup upsert) against
a straightforward per-event computation of the same random batch: same charges, same rollups."""

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.factories import ChannelFactory, PhoneNumberFactory, fund, priced_sms_channel, wallet_of
from usage.models import DailyUsageRollup, UsageRecord
from usage.pricing import PriceBook
from usage.services import usage_ingest
from wallets.models import WalletTransaction
from wallets.money import ZERO
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def random_batch(rng: random.Random, sms_refs: list, whatsapp_id: int, size: int) -> list[dict]:
    events = []
    for _ in range(size):
        occurred = (NOW - timedelta(minutes=rng.randrange(60 * 24 * 40))).isoformat()
        common = {
            "id": f"m{rng.randrange(size * 2)}",  # some ids repeat: the first one counts
            "direction": rng.choice(["outbound", "inbound"]),
            "status": rng.choice(["delivered", "delivered", "failed"]),
            "country": rng.choice(["US", "CA", "GB", "HK", "DE"]),
            "occurred_at": occurred,
        }
        if rng.random() < 0.3:
            category = rng.choice(["marketing", "utility", "authentication", "service"])
            events.append(common | {"channel": whatsapp_id, "type": "whatsapp", "category": category})
        else:
            kind = rng.choice(["sms", "sms", "mms"])
            events.append(common | {"channel": rng.choice(sms_refs), "type": kind, "segments": rng.randint(1, 4)})
    return events


def per_event(workspace, events, channels_by_ref) -> tuple[dict, dict, dict]:
    """Price each first-seen event on its own and add it up by wallet and by daily bucket."""
    tz = ZoneInfo(workspace.timezone)
    records, charged, buckets = {}, defaultdict(lambda: [ZERO, ZERO]), defaultdict(lambda: [0, 0, ZERO, ZERO, ZERO])
    for event in events:
        if event["id"] in records:
            continue
        occurred = datetime.fromisoformat(event["occurred_at"])
        quote = PriceBook.load(countries=[event["country"]]).quote(
            at=occurred,
            message_type=event["type"],
            category=event.get("category", ""),
            direction=event["direction"],
            country=event["country"],
            segments=event.get("segments", 1) if event["type"] == "sms" else 1,
            status=event["status"],
        )
        channel = channels_by_ref[event["channel"]]
        wallet = wallet_of(workspace, channel.wallet_kind)
        records[event["id"]] = (quote.unit_price, quote.segments, quote.cost, quote.carrier_fee, quote.total)
        charged[wallet.id][0] += quote.cost
        charged[wallet.id][1] += quote.carrier_fee
        key = (wallet.id, channel.id, occurred.astimezone(tz).date(), event["type"], event.get("category", ""))
        key += (event["direction"], event["status"])
        for position, value in enumerate((1, quote.segments, quote.cost, quote.carrier_fee, quote.total)):
            buckets[key][position] += value
    return records, charged, buckets


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_set_based_ingest_equals_a_per_event_computation(workspace, seed):
    workspace.timezone = "Asia/Hong_Kong"
    workspace.save()
    sms_channel = priced_sms_channel(workspace, balance="1000.00")
    second_number = PhoneNumberFactory(channel=ChannelFactory(workspace=workspace, kind="sms"), number="+14155550199")
    whatsapp = ChannelFactory(workspace=workspace, kind="whatsapp_cloud")
    fund(wallet_of(workspace, "whatsapp"), "1000.00", key="fund-wa")
    channels_by_ref = {
        "+14155550100": sms_channel,
        sms_channel.id: sms_channel,
        "+14155550199": second_number.channel,
        whatsapp.id: whatsapp,
    }
    events = random_batch(random.Random(seed), ["+14155550100", sms_channel.id, "+14155550199"], whatsapp.id, 400)
    expected_records, expected_charges, expected_buckets = per_event(workspace, events, channels_by_ref)

    usage_ingest(workspace=workspace, events=events, now=NOW)

    stored = {
        r.message_id: (r.unit_price, r.segments, r.cost, r.carrier_fee, r.total)
        for r in UsageRecord.objects.filter(workspace=workspace)
    }
    assert stored == expected_records
    for wallet_id, (cost, carrier) in expected_charges.items():
        postings = WalletTransaction.objects.filter(wallet_id=wallet_id, kind__in=["message_charge", "carrier_fee"])
        assert {p.kind: p.amount for p in postings} == {
            kind: -amount for kind, amount in (("message_charge", cost), ("carrier_fee", carrier)) if amount
        }
    rollups = {
        (r.wallet_id, r.channel_id, r.day, r.message_type, r.category, r.direction, r.status): [
            r.messages, r.segments, r.cost, r.carrier_fee, r.total
        ]
        for r in DailyUsageRollup.objects.all()
    }  # fmt: skip
    assert rollups == {key: list(sums) for key, sums in expected_buckets.items()}
    assert sum(Decimal(v[0]) for v in rollups.values()) == len(expected_records)
    assert ledger_verify().problems == []
