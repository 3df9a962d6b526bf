"""WhatsApp usage priced as Meta prices it, with the shipped (illustrative) price list:
per-message versions from 2025-07-01 and 2026-10-01, the conversation version before."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import ChannelFactory, PriceListFactory, default_price_list, fund, wallet_of
from usage.models import DailyUsageRollup, Price, PriceList, UsageRecord, WhatsAppVolume
from usage.rollups import rollup_rows_from_records
from usage.services import UsageBatchInvalid, usage_ingest
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PMP_AT = "2026-08-20T09:30:00Z"  # per-message version of 2025-07-01
WINDOW_CHARGED_AT = "2026-11-20T09:30:00Z"  # version of 2026-10-01: window messages charged
CBP_AT = "2025-03-01T09:30:00Z"  # conversation version


@pytest.fixture
def channel(workspace):
    default_price_list()
    channel = ChannelFactory(workspace=workspace, kind="whatsapp_cloud", display_name="WhatsApp")
    fund(wallet_of(workspace, "whatsapp"), "10.00", key="fund-wa")
    return channel


def meta(message_id, channel, *, category="marketing", type="regular", country="US", at=PMP_AT, **fields):
    """An event as the platform relays Meta's status webhook: the pricing object plus the country."""
    pricing = {"pricing_model": "PMP", "category": category, "type": type, "billable": type == "regular"}
    return {
        "id": message_id,
        "channel": channel.id,
        "type": "whatsapp",
        "direction": "outbound",
        "status": "delivered",
        "country": country,
        "occurred_at": at,
        "pricing": pricing,
    } | fields


def record(message_id):
    return UsageRecord.objects.get(message_id=message_id)


def test_a_mixed_batch_is_charged_to_the_exact_micro_dollar_and_free_messages_say_why(workspace, channel):
    result = usage_ingest(
        workspace=workspace,
        events=[
            meta("m-gb", channel, country="GB"),  # marketing GB 0.0529
            meta("m-br", channel, country="BR"),  # BR is not listed: default 0.06
            meta("auth-in", channel, category="authentication_international", country="IN"),  # 0.028
            meta("util-window", channel, category="utility", type="free_customer_service"),
            meta("service", channel, category="service", type="free_customer_service"),
            meta("entry", channel, type="free_entry_point"),
            meta("failed", channel, status="failed"),
        ],
        now=NOW,
    )

    assert result.accepted == 7
    assert result.charged["whatsapp"] == Decimal("0.140900")
    assert result.balances["whatsapp"] == Decimal("9.859100")
    posting = WalletTransaction.objects.get(wallet=wallet_of(workspace, "whatsapp"), kind="message_charge")
    assert posting.amount == Decimal("-0.140900")
    per_message = PriceList.objects.get(effective_from=datetime(2025, 7, 1, tzinfo=UTC))
    window = "free_customer_service"
    expected = {
        "m-gb": ("marketing", "regular", 1, Decimal("0.052900"), Decimal("0.052900"), ""),
        "m-br": ("marketing", "regular", 1, Decimal("0.060000"), Decimal("0.060000"), ""),
        "auth-in": ("authentication_international", "regular", 1, Decimal("0.028000"), Decimal("0.028000"), ""),
        "util-window": ("utility", window, 1, Decimal("0.004000"), Decimal("0"), window),
        "service": ("service", window, 1, Decimal("0"), Decimal("0"), window),
        "entry": ("marketing", "free_entry_point", 1, Decimal("0.025000"), Decimal("0"), "free_entry_point"),
        "failed": ("marketing", "regular", 1, Decimal("0.025000"), Decimal("0"), "failed"),
    }
    for message_id, (category, pricing_type, tier, unit_price, cost, free_reason) in expected.items():
        row = record(message_id)
        assert (row.category, row.pricing_type, row.tier) == (category, pricing_type, tier), message_id
        assert (row.unit_price, row.cost, row.free_reason) == (unit_price, cost, free_reason), message_id
        assert (row.price_list_id, row.pricing_model) == (per_message.id, "per_message"), message_id
        assert row.posting_id == posting.id  # one posting per batch and wallet; free rows add nothing to it
    assert UsageRecord.objects.filter(cost=0).count() == 4


def test_the_2026_version_charges_service_messages_in_the_window_at_the_utility_rate(workspace, channel):
    usage_ingest(
        workspace=workspace,
        events=[
            meta("service", channel, category="service", type="free_customer_service", at=WINDOW_CHARGED_AT),
            meta("entry", channel, category="service", type="free_entry_point", at=WINDOW_CHARGED_AT),
        ],
        now=NOW,
    )

    assert (record("service").cost, record("service").free_reason) == (Decimal("0.004000"), "")
    assert (record("entry").cost, record("entry").free_reason) == (Decimal("0"), "free_entry_point")


def test_without_the_pricing_object_category_and_pricing_type_price_the_message(workspace, channel):
    plain = {k: v for k, v in meta("plain", channel, country="GB").items() if k != "pricing"}
    usage_ingest(
        workspace=workspace,
        events=[
            plain | {"category": "utility"},
            plain | {"id": "windowed", "category": "utility", "pricing_type": "free_customer_service"},
        ],
        now=NOW,
    )

    assert (record("plain").pricing_type, record("plain").cost) == ("regular", Decimal("0.022000"))
    assert (record("windowed").cost, record("windowed").free_reason) == (Decimal("0"), "free_customer_service")


def test_a_conversation_era_record_keeps_its_price_when_a_later_version_appears(workspace, channel):
    cbp = meta("old", channel, at=CBP_AT) | {"pricing": {"pricing_model": "CBP", "category": "marketing"}}
    usage_ingest(workspace=workspace, events=[cbp], now=NOW)
    before = record("old")
    later = PriceListFactory(name="Dearer", effective_from=datetime(2026, 11, 1, tzinfo=UTC))
    Price.objects.create(
        price_list=later, channel_family="whatsapp", message_type="whatsapp", category="marketing",
        direction="outbound", country="", unit_price=Decimal("0.500000"),
    )  # fmt: skip
    usage_ingest(workspace=workspace, events=[cbp], now=NOW)  # a replay, after the new version

    after = record("old")
    assert (after.pricing_model, after.price_list_id) == ("conversation", before.price_list_id)
    assert (after.unit_price, after.cost, after.total) == (Decimal("0.025000"), Decimal("0.025000"), before.total)
    assert UsageRecord.objects.count() == 1
    assert WalletTransaction.objects.filter(kind="message_charge").count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"pricing": {"pricing_model": "PMP", "category": "referral"}}, "pricing.category", "one of"),
        ({"pricing": {"pricing_model": "PMP", "category": "utility", "type": "free_tier"}}, "pricing.type", "one of"),
        ({"pricing": {"pricing_model": "XYZ", "category": "utility"}}, "pricing.pricing_model", "PMP"),
        ({"pricing": {"pricing_model": "CBP", "category": "utility"}}, "pricing.pricing_model", "per message"),
        ({"pricing": {"category": "utility", "type": "regular", "billable": False}}, "pricing.billable", "Disagrees"),
        ({"pricing": {"category": "utility", "billable": False}}, "pricing.type", "free type"),
        ({"pricing": None, "category": "promo"}, "category", "one of"),
        ({"pricing": None, "category": "utility", "pricing_type": "gratis"}, "pricing_type", "one of"),
        ({"reported_price": "-0.01"}, "reported_price", "decimal string"),
        ({"reported_price": "1000.01"}, "reported_price", "between"),
        ({"reported_price": "1e2"}, "reported_price", "decimal string"),
        ({"reported_price": 0.02}, "reported_price", "decimal string"),
    ],
)
def test_a_bad_pricing_field_refuses_the_batch_naming_it_and_writes_nothing(workspace, channel, change, field, message):
    events = [meta("good", channel), {k: v for k, v in (meta("bad", channel) | change).items() if v is not None}]

    with pytest.raises(UsageBatchInvalid) as refused:
        usage_ingest(workspace=workspace, events=events, now=NOW)

    assert [(error.index, error.field) for error in refused.value.errors] == [(1, field)]
    assert message in refused.value.errors[0].message
    assert not UsageRecord.objects.exists()
    assert not DailyUsageRollup.objects.exists()
    assert not WhatsAppVolume.objects.exists()
    assert WalletTransaction.objects.filter(kind="message_charge").count() == 0


def test_per_message_on_a_conversation_version_and_new_categories_before_july_2025_are_refused(workspace, channel):
    events = [
        meta("pmp-early", channel, at=CBP_AT),
        {k: v for k, v in meta("intl-early", channel, at=CBP_AT).items() if k != "pricing"}
        | {"category": "authentication_international"},
    ]

    with pytest.raises(UsageBatchInvalid) as refused:
        usage_ingest(workspace=workspace, events=events, now=NOW)

    assert [(error.index, error.field) for error in refused.value.errors] == [
        (0, "pricing.pricing_model"),
        (1, "category"),
    ]
    assert not UsageRecord.objects.exists()


def test_a_replayed_batch_charges_and_counts_nothing_more(workspace, channel):
    batch = [meta(f"u{n}", channel, category="utility", country="GB") for n in range(3)]
    first = usage_ingest(workspace=workspace, events=batch, now=NOW)
    again = usage_ingest(workspace=workspace, events=batch, now=NOW)

    assert (first.accepted, again.accepted, again.duplicates) == (3, 0, 3)
    assert again.charged["whatsapp"] == Decimal("0")
    assert WhatsAppVolume.objects.get().messages == 3
    assert WalletTransaction.objects.filter(kind="message_charge").count() == 1
    assert UsageRecord.objects.count() == 3


def test_rollups_equal_a_group_by_of_the_records_free_reasons_included(workspace, channel):
    usage_ingest(
        workspace=workspace,
        events=[
            meta("a", channel),
            meta("b", channel),
            meta("c", channel, type="free_entry_point"),
            meta("d", channel, status="failed"),
            meta("e", channel, category="service", type="free_customer_service"),
        ],
        now=NOW,
    )
    wallet = wallet_of(workspace, "whatsapp")

    def buckets(rows):
        return sorted(
            (r.day, r.category, r.status, r.free_reason, r.messages, r.cost, r.total) for r in rows
        )  # fmt: skip

    assert buckets(DailyUsageRollup.objects.filter(wallet=wallet)) == buckets(rollup_rows_from_records(wallet=wallet))
    assert {(r.free_reason, r.messages) for r in DailyUsageRollup.objects.filter(category="marketing")} == {
        ("", 2),
        ("free_entry_point", 1),
        ("failed", 1),
    }


def test_the_reported_price_is_kept_and_charged_only_when_the_version_says_so(workspace, channel):
    usage_ingest(workspace=workspace, events=[meta("listed", channel, reported_price="0.0200")], now=NOW)
    assert (record("listed").unit_price, record("listed").reported_price) == (Decimal("0.025000"), Decimal("0.02"))
    assert record("listed").cost == Decimal("0.025000")

    PriceList.objects.filter(effective_from=datetime(2025, 7, 1, tzinfo=UTC)).update(
        whatsapp_charge_reported_price=True
    )
    usage_ingest(workspace=workspace, events=[meta("reported", channel, reported_price="0.0200")], now=NOW)
    assert (record("reported").unit_price, record("reported").cost) == (Decimal("0.025000"), Decimal("0.020000"))


def test_the_month_that_picks_the_tier_is_the_workspaces_own(workspace, channel):
    workspace.timezone = "Asia/Hong_Kong"
    workspace.save(update_fields=["timezone"])
    usage_ingest(
        workspace=workspace,
        events=[
            meta("august-utc", channel, category="utility", at="2026-08-31T15:00:00Z"),  # 23:00 in Hong Kong
            meta("september-hk", channel, category="utility", at="2026-08-31T17:00:00Z"),  # 01:00 on 1 Sep
        ],
        now=NOW,
    )

    assert sorted(WhatsAppVolume.objects.values_list("month", "category", "market", "messages")) == [
        (datetime(2026, 8, 1).date(), "utility", "US", 1),
        (datetime(2026, 9, 1).date(), "utility", "US", 1),
    ]
