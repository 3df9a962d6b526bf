from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ChannelFactory, UsageRecordFactory, fund, priced_sms_channel, wallet_of
from usage import services
from usage.models import DailyUsageRollup, Price, PriceList, UsageRecord
from usage.rollups import rollup_rows_from_records
from usage.services import UsageBatchInvalid, usage_ingest
from wallets.models import WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AT = "2026-11-20T09:30:00Z"


@pytest.fixture
def channels(workspace):
    sms = priced_sms_channel(workspace)
    whatsapp = ChannelFactory(workspace=workspace, kind="whatsapp_cloud", display_name="WhatsApp")
    fund(wallet_of(workspace, "whatsapp"), "10.00", key="fund-wa")
    return {"sms": sms, "whatsapp": whatsapp}


def sms(message_id, **fields):
    return {
        "id": message_id,
        "channel": "+14155550100",
        "type": "sms",
        "direction": "outbound",
        "status": "delivered",
        "country": "US",
        "segments": 1,
        "occurred_at": AT,
    } | fields


def whatsapp(message_id, channel, **fields):
    return {
        "id": message_id,
        "channel": channel.id,
        "type": "whatsapp",
        "category": "marketing",
        "direction": "outbound",
        "status": "delivered",
        "country": "US",
        "occurred_at": AT,
    } | fields


def mixed_batch(channels):
    wa = channels["whatsapp"]
    return [
        sms("s1", segments=2),  # 2 x 0.0079 + carrier 2 x 0.003
        sms("s2", country="GB", segments=None, body="a" * 161),  # 2 segments x 0.04, no GB carrier fee
        sms("s3", type="mms", segments=None),  # 0.02 + carrier 0.01
        sms("s4", country="HK", direction="inbound", status="failed"),  # failed is billed: 0.01
        sms("s5", country="FR", segments=None, body="héllo €"),  # GSM-7, 1 segment, default 0.0083
        whatsapp("w1", wa),  # marketing US 0.025
        whatsapp("w2", wa, category="utility", country="BR"),  # default 0.02
        whatsapp("w3", wa, category="service", direction="inbound"),  # free
    ]


def test_a_mixed_batch_is_priced_to_the_exact_micro_dollar(channels, workspace):
    result = usage_ingest(workspace=workspace, events=mixed_batch(channels), now=NOW)

    assert (result.accepted, result.duplicates) == (8, 0)
    assert result.charged == {"sms": Decimal("0.150100"), "whatsapp": Decimal("0.045000")}
    assert result.balances == {"sms": Decimal("9.849900"), "whatsapp": Decimal("9.955000")}
    records = {
        r.message_id: (r.segments, r.unit_price, r.cost, r.carrier_fee, r.total) for r in UsageRecord.objects.all()
    }
    assert records["s1"] == (2, Decimal("0.007900"), Decimal("0.015800"), Decimal("0.006000"), Decimal("0.021800"))
    assert records["s2"] == (2, Decimal("0.040000"), Decimal("0.080000"), Decimal("0"), Decimal("0.080000"))
    assert records["s3"] == (1, Decimal("0.020000"), Decimal("0.020000"), Decimal("0.010000"), Decimal("0.030000"))
    assert records["s4"] == (1, Decimal("0.010000"), Decimal("0.010000"), Decimal("0"), Decimal("0.010000"))
    assert records["s5"] == (1, Decimal("0.008300"), Decimal("0.008300"), Decimal("0"), Decimal("0.008300"))
    assert records["w1"] == (1, Decimal("0.025000"), Decimal("0.025000"), Decimal("0"), Decimal("0.025000"))
    assert records["w2"] == (1, Decimal("0.020000"), Decimal("0.020000"), Decimal("0"), Decimal("0.020000"))
    assert records["w3"] == (1, Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0"))
    assert UsageRecord.objects.get(message_id="s1").phone_number.number == "+14155550100"


def test_each_wallet_gets_one_charge_posting_equal_to_the_sum_of_its_records(channels, workspace):
    usage_ingest(workspace=workspace, events=mixed_batch(channels), now=NOW)

    for kind in ("sms", "whatsapp"):
        wallet = wallet_of(workspace, kind)
        charges = WalletTransaction.objects.filter(wallet=wallet, kind="message_charge")
        assert charges.count() == 1
        records = UsageRecord.objects.filter(wallet=wallet)
        assert charges.get().amount == -sum(r.cost for r in records)
        assert set(records.values_list("posting_id", flat=True)) == {charges.get().id}
    carrier = WalletTransaction.objects.get(kind="carrier_fee")
    assert carrier.wallet == wallet_of(workspace, "sms")
    assert carrier.amount == Decimal("-0.016000")
    assert UsageRecord.objects.filter(carrier_posting=carrier).count() == 5
    assert not WalletTransaction.objects.filter(wallet=wallet_of(workspace, "whatsapp"), kind="carrier_fee").exists()
    assert ledger_verify().problems == []


def test_replaying_a_batch_changes_nothing_and_reports_duplicates(channels, workspace):
    batch = mixed_batch(channels)
    usage_ingest(workspace=workspace, events=batch, now=NOW)
    before = list(WalletTransaction.objects.values_list("id", "amount"))
    rollups = list(DailyUsageRollup.objects.values_list("messages", "total").order_by("id"))

    result = usage_ingest(workspace=workspace, events=batch, now=NOW)

    assert (result.accepted, result.duplicates) == (0, 8)
    assert result.charged == {"sms": Decimal("0"), "whatsapp": Decimal("0")}
    assert list(WalletTransaction.objects.values_list("id", "amount")) == before
    assert list(DailyUsageRollup.objects.values_list("messages", "total").order_by("id")) == rollups
    assert UsageRecord.objects.count() == 8


def test_a_partly_new_batch_charges_only_the_new_messages(channels, workspace):
    usage_ingest(workspace=workspace, events=[sms("a"), sms("b")], now=NOW)
    result = usage_ingest(workspace=workspace, events=[sms("b"), sms("c"), sms("c")], now=NOW)

    assert (result.accepted, result.duplicates) == (1, 2)  # "b" recorded before, the second "c" in the same batch
    assert result.charged["sms"] == Decimal("0.010900")
    assert UsageRecord.objects.count() == 3
    assert WalletTransaction.objects.filter(kind="message_charge").count() == 2


def test_failed_messages_cost_nothing_when_the_price_list_says_so(channels, workspace):
    PriceList.objects.update(bill_failed_messages=False)
    result = usage_ingest(workspace=workspace, events=[sms("f", status="failed", segments=3)], now=NOW)

    record = UsageRecord.objects.get()
    assert (record.unit_price, record.cost, record.carrier_fee, record.posting) == (
        Decimal("0.007900"),
        Decimal("0"),
        Decimal("0"),
        None,
    )
    assert result.charged["sms"] == Decimal("0")
    assert not WalletTransaction.objects.filter(kind__in=["message_charge", "carrier_fee"]).exists()


def test_usage_is_charged_even_when_it_takes_the_balance_below_zero(channels, workspace):
    result = usage_ingest(workspace=workspace, events=[sms(f"m{i}", segments=10) for i in range(100)], now=NOW)

    assert result.balances["sms"] == Decimal("10.00") - 100 * Decimal("0.109")
    assert wallet_of(workspace, "sms").balance == Decimal("-0.900000")
    assert UsageRecord.objects.count() == 100


def test_an_invalid_event_rejects_the_whole_batch_and_writes_nothing(channels, workspace):
    with pytest.raises(UsageBatchInvalid) as invalid:
        usage_ingest(workspace=workspace, events=[sms("ok"), sms("bad", segments=-1)], now=NOW)

    assert [error.as_dict() for error in invalid.value.errors] == [
        {"index": 1, "field": "segments", "message": "Must be between 1 and 10."}
    ]
    assert not UsageRecord.objects.exists()
    assert not WalletTransaction.objects.filter(kind="message_charge").exists()


# --- rollups stay equal to a GROUP BY over the raw records --------------------------------

event_strategy = st.fixed_dictionaries(
    {
        "id": st.sampled_from([f"r{i}" for i in range(12)]),
        "kind": st.sampled_from(["sms", "mms", "whatsapp"]),
        "direction": st.sampled_from(["outbound", "inbound"]),
        "status": st.sampled_from(["delivered", "failed"]),
        "country": st.sampled_from(["US", "GB", "HK"]),
        "segments": st.integers(1, 10),
        # Around midnight in Hong Kong (16:00 UTC), so events fall on both sides of a local day.
        "minutes": st.integers(-180, 180),
    }
)


class _Rollback(Exception):
    pass


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(event_strategy, min_size=1, max_size=8), min_size=1, max_size=3))
def test_incremental_rollups_equal_a_group_by_over_the_records(channels, workspace, batches):
    workspace.timezone = "Asia/Hong_Kong"
    workspace.save()
    midnight_hk = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    try:
        with transaction.atomic():
            for batch in batches:
                events = []
                for e in batch:
                    at = (midnight_hk + timedelta(minutes=e["minutes"])).isoformat()
                    fields = {"direction": e["direction"], "status": e["status"], "country": e["country"]}
                    if e["kind"] == "whatsapp":
                        events.append(whatsapp(e["id"], channels["whatsapp"], occurred_at=at, **fields))
                    else:
                        events.append(sms(e["id"], type=e["kind"], segments=e["segments"], occurred_at=at, **fields))
                usage_ingest(workspace=workspace, events=events, now=NOW)
            for kind in ("sms", "whatsapp"):
                wallet = wallet_of(workspace, kind)
                fields = ("channel_id", "day", "message_type", "category", "direction", "status")
                fields += ("messages", "segments", "cost", "carrier_fee", "total")
                expected = {tuple(getattr(r, f) for f in fields) for r in rollup_rows_from_records(wallet=wallet)}
                actual = set(DailyUsageRollup.objects.filter(wallet=wallet).values_list(*fields))
                assert actual == expected
            raise _Rollback
    except _Rollback:
        pass


@pytest.mark.parametrize("size", [10, 500])
def test_the_number_of_queries_does_not_grow_with_the_batch(channels, workspace, django_assert_max_num_queries, size):
    events = [sms(f"q{i}", country=["US", "GB", "HK"][i % 3]) for i in range(size)]
    events += [whatsapp(f"qw{i}", channels["whatsapp"]) for i in range(size)]

    with django_assert_max_num_queries(30):
        result = usage_ingest(workspace=workspace, events=events, now=NOW)

    assert result.accepted == 2 * size


def test_a_country_without_a_price_nor_a_default_rejects_the_batch(channels, workspace):
    Price.objects.filter(message_type="sms", direction="outbound", country="").delete()

    with pytest.raises(UsageBatchInvalid) as invalid:
        usage_ingest(workspace=workspace, events=[sms("us"), sms("fr", country="FR")], now=NOW)

    [error] = invalid.value.errors
    assert (error.index, error.field) == (1, "country")
    assert "no price for sms outbound in 'FR' and no default" in error.message
    assert not UsageRecord.objects.exists()


def test_a_message_recorded_behind_the_ingests_back_rolls_the_whole_batch_back(channels, workspace, monkeypatch):
    """Ingests serialise on the wallet locks; a writer bypassing them must not cause a double charge."""
    real_insert = services._records_insert

    def insert_after_a_rival(**kwargs):
        free = {"unit_price": Decimal("0"), "carrier_fee": Decimal("0")}
        UsageRecordFactory(channel=channels["whatsapp"], message_id="b", **free)
        return real_insert(**kwargs)

    monkeypatch.setattr(services, "_records_insert", insert_after_a_rival)
    with pytest.raises(services.UsageIngestConflict):
        usage_ingest(workspace=workspace, events=[sms("a"), sms("b")], now=NOW)

    assert not UsageRecord.objects.exists()
    assert not WalletTransaction.objects.filter(kind="message_charge").exists()
    assert wallet_of(workspace, "sms").balance == Decimal("10.00")


# --- a batch checks and prices each event as if it came alone -----------------------------

# Field values, few so that kinds repeat within a batch (what the batch reuses), the invalid
# ones including values Python finds equal but the cleaners do not (1, 1.0 and True).
VALID = {
    "id": ["a", "b", "c"],
    "channel": ["the channel for its type", "+14155550100"],
    "type": ["sms", "mms", "whatsapp"],
    "category": [None, "", "marketing", "service"],
    "direction": ["outbound", "inbound"],
    "status": ["delivered", "failed"],
    "country": ["US", "us", "GB", "FR"],
    "segments": [None, 1, 2],
    "body": [None, "hi", "a" * 161],
    "occurred_at": [AT, "2026-11-20T17:30:00.5+08:00", "2026-11-20T10:00:00-05:00"],
}
INVALID = {
    "id": ["", "x" * 129, "m\x00", 7],
    "channel": ["+19999999999", "sms-1", 999999, 1.0, True],
    "type": ["fax", 1],
    "category": ["bogus", 0, False],
    "direction": ["sideways", 1],
    "status": ["queued"],
    "country": ["USA", None],
    "segments": [1.0, True, "2", 11, [1]],
    "body": [5, ["x"]],
    "occurred_at": ["2026-11-20T09:30:00", "2025-06-01T00:00:00Z", "2026-11-21T00:00:00Z", 5],
}


def raw_batches(valid: bool) -> st.SearchStrategy:
    """Events that each differ from one valid base event in at most two fields: kinds repeat."""
    pools = {field: VALID[field] + ([] if valid else INVALID[field]) for field in VALID}
    base = st.fixed_dictionaries({field: st.sampled_from(values) for field, values in VALID.items()})
    change = st.sampled_from(list(pools)).flatmap(
        lambda field: st.tuples(st.just(field), st.sampled_from(pools[field]))
    )
    variants = st.lists(st.lists(change, max_size=2).map(dict), min_size=1, max_size=12)
    batches = st.tuples(base, variants).map(lambda drawn: [drawn[0] | variant for variant in drawn[1]])
    if valid:
        return batches
    not_objects = st.lists(st.sampled_from(["not an object", None, 42]), max_size=1)
    return st.tuples(batches, not_objects).map(lambda drawn: drawn[0] + drawn[1])


def _price_outcome(workspace, events: list) -> tuple[list, list]:
    """The batch's errors (as dicts) and what it priced each event as; one of the two is empty."""
    try:
        priced = services.usage_batch_price(workspace=workspace, events=events, now=NOW)
    except UsageBatchInvalid as invalid:
        return [error.as_dict() for error in invalid.errors], []
    kind_fields = ("ref", "message_type", "category", "direction", "status", "country", "quote")
    return [], [(e.message_id, e.occurred_at, *(getattr(e.kind, f) for f in kind_fields)) for e in priced]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.booleans().flatmap(raw_batches))
def test_a_batch_checks_and_prices_each_event_as_if_it_came_alone(channels, workspace, batch):
    """The batch checks the fields of each distinct kind once; that must not change any answer."""
    for event in batch:
        if isinstance(event, dict) and event["channel"] == "the channel for its type":
            event["channel"] = channels["whatsapp" if event["type"] == "whatsapp" else "sms"].id
    errors, priced = [], []
    for index, event in enumerate(batch):
        alone_errors, alone_priced = _price_outcome(workspace, [event])
        errors += [error | {"index": index} for error in alone_errors]
        priced += alone_priced

    assert _price_outcome(workspace, batch) == ((errors, []) if errors else ([], priced))


def test_an_event_of_a_kind_seen_before_in_the_batch_reports_its_first_bad_field(channels, workspace):
    naive = "2026-11-20T09:30:00"
    batch = [sms("a"), sms("", occurred_at=naive), sms("b", occurred_at=naive), sms("c", segments=True)]

    with pytest.raises(UsageBatchInvalid) as invalid:
        usage_ingest(workspace=workspace, events=batch, now=NOW)

    assert [(e.index, e.field) for e in invalid.value.errors] == [(1, "id"), (2, "occurred_at"), (3, "segments")]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 20, 12, 0, 0, 123_457, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_a_time_sent_as_microseconds_since_the_epoch_comes_back_to_the_microsecond(moment):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {services.EPOCH_MICROSECONDS_SQL.format('%(us)s')}",
            {"us": str((moment - services.EPOCH) // services.MICROSECOND)},  # text, as the JSON array gives it
        )
        assert cursor.fetchone()[0] == moment
