"""The set-based ingest (kinds priced once per batch, one INSERT with the rollups in SQL)
against a straightforward per-event computation of the same random batches: same records,
same charges, same rollups."""

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.factories import ChannelFactory, PhoneNumberFactory, fund, priced_sms_channel, wallet_of
from usage.models import CarrierFee, DailyUsageRollup, Price, PriceList, UsageRecord
from usage.pricing import price_list_in_force
from usage.segments import segments_count
from usage.services import usage_ingest
from wallets.models import WalletTransaction
from wallets.money import ZERO, quantize
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Ids the set-based write sends as JSON: quotes, backslashes, non-ASCII and emoji must survive.
ODD_IDS = ['quote"d', "back\\slash", "ünïcödé", "emoji-😀", "comma,{brace}"]
BODIES = ["hi", "a" * 161, "héllo €", "你好" * 40, "[braces] ~ and ^"]


def random_batch(rng: random.Random, sms_refs: list, whatsapp_id: int, size: int) -> list[dict]:
    events = []
    for _ in range(size):
        moment = NOW - timedelta(minutes=rng.randrange(60 * 24 * 40), microseconds=rng.randrange(10**6))
        offset = timezone(timedelta(minutes=rng.choice([0, 0, 330, -300, 480])))
        common = {
            # Some ids repeat, within a batch and across batches: the first one counts.
            "id": rng.choice(ODD_IDS) if rng.random() < 0.02 else f"m{rng.randrange(size * 2)}",
            "direction": rng.choice(["outbound", "inbound"]),
            "status": rng.choice(["delivered", "delivered", "failed"]),
            "country": rng.choice(["US", "CA", "GB", "HK", "DE"]),
            "occurred_at": moment.astimezone(offset).isoformat(),
        }
        if rng.random() < 0.3:
            category = rng.choice(["marketing", "utility", "authentication", "service"])
            events.append(common | {"channel": whatsapp_id, "type": "whatsapp", "category": category})
        elif rng.random() < 0.2:
            events.append(common | {"channel": rng.choice(sms_refs), "type": "sms", "body": rng.choice(BODIES)})
        else:
            kind = rng.choice(["sms", "sms", "mms"])
            events.append(common | {"channel": rng.choice(sms_refs), "type": kind, "segments": rng.randint(1, 4)})
    return events


def a_second_price_list() -> None:
    """From 20 days before NOW: every price and carrier fee of the first list times 1.37
    (at ledger precision), and failed messages no longer billed. Batches span both lists."""
    first = PriceList.objects.get()
    second = PriceList.objects.create(
        name="Second", effective_from=NOW - timedelta(days=20), bill_failed_messages=False
    )
    factor = Decimal("1.37")
    for price in Price.objects.filter(price_list=first):
        price.pk, price.price_list, price.unit_price = None, second, quantize(price.unit_price * factor)
        price.save()
    for fee in CarrierFee.objects.filter(price_list=first):
        fee.pk, fee.price_list, fee.amount = None, second, quantize(fee.amount * factor)
        fee.save()


def straightforward_quote(event: dict) -> tuple[Decimal, int, Decimal, Decimal]:
    """Unit price, billed units, cost and carrier fee of one event, read from the price
    tables with the ORM: no PriceBook, no caching."""
    at = datetime.fromisoformat(event["occurred_at"])
    price_list = price_list_in_force(at=at)
    family = "whatsapp" if event["type"] == "whatsapp" else "sms"
    prices = Price.objects.filter(
        price_list=price_list,
        channel_family=family,
        message_type=event["type"],
        category=event.get("category", ""),
        direction=event["direction"],
    )
    unit_price = (prices.filter(country=event["country"]).first() or prices.get(country="")).unit_price
    fees = CarrierFee.objects.filter(price_list=price_list, message_type=event["type"], direction=event["direction"])
    fee = fees.filter(country=event["country"]).first() or fees.filter(country="").first()
    if event["type"] != "sms":
        units = 1
    elif event.get("segments") is not None:
        units = event["segments"]
    else:
        units = segments_count(event["body"]).segments
    if event["status"] == "failed" and not price_list.bill_failed_messages:
        return unit_price, units, ZERO, ZERO
    return unit_price, units, quantize(unit_price * units), quantize((fee.amount if fee else ZERO) * units)


def per_event(workspace, events, channels_by_ref) -> tuple[dict, dict, dict]:
    """Price each first-seen event on its own and add it up by wallet and by daily bucket."""
    tz = ZoneInfo(workspace.timezone)
    records, charged, buckets = {}, defaultdict(lambda: [ZERO, ZERO]), defaultdict(lambda: [0, 0, ZERO, ZERO, ZERO])
    for event in events:
        if event["id"] in records:
            continue
        unit_price, units, cost, carrier_fee = straightforward_quote(event)
        occurred = datetime.fromisoformat(event["occurred_at"])
        channel = channels_by_ref[event["channel"]]
        wallet = wallet_of(workspace, channel.wallet_kind)
        records[event["id"]] = (unit_price, units, cost, carrier_fee, cost + carrier_fee, occurred)
        charged[wallet.id][0] += cost
        charged[wallet.id][1] += carrier_fee
        key = (wallet.id, channel.id, occurred.astimezone(tz).date(), event["type"], event.get("category", ""))
        key += (event["direction"], event["status"])
        for position, value in enumerate((1, units, cost, carrier_fee, cost + carrier_fee)):
            buckets[key][position] += value
    return records, charged, buckets


@pytest.fixture
def channels_by_ref(workspace) -> dict:
    sms_channel = priced_sms_channel(workspace, balance="1000.00")
    second_number = PhoneNumberFactory(channel=ChannelFactory(workspace=workspace, kind="sms"), number="+14155550199")
    whatsapp = ChannelFactory(workspace=workspace, kind="whatsapp_cloud")
    fund(wallet_of(workspace, "whatsapp"), "1000.00", key="fund-wa")
    a_second_price_list()
    return {
        "+14155550100": sms_channel,
        sms_channel.id: sms_channel,
        "+14155550199": second_number.channel,
        whatsapp.id: whatsapp,
    }


def batches_of(seed: int, channels_by_ref: dict) -> list[list[dict]]:
    """Two overlapping batches of one random stream: the second repeats part of the first."""
    whatsapp_id = next(ref for ref, channel in channels_by_ref.items() if channel.kind == "whatsapp_cloud")
    sms_refs = [ref for ref, channel in channels_by_ref.items() if channel.kind == "sms"]
    events = random_batch(random.Random(seed), sms_refs, whatsapp_id, 600)
    return [events[:400], events[250:]]


@pytest.mark.parametrize(("seed", "tz"), [(1, "Asia/Hong_Kong"), (2, "America/New_York"), (3, "UTC")])
def test_set_based_ingest_equals_a_per_event_computation(workspace, channels_by_ref, seed, tz):
    workspace.timezone = tz
    workspace.save()
    batches = batches_of(seed, channels_by_ref)
    expected_records, expected_charges, expected_buckets = per_event(
        workspace, [event for batch in batches for event in batch], channels_by_ref
    )

    for batch in batches:
        usage_ingest(workspace=workspace, events=batch, now=NOW)

    stored = {
        r.message_id: (r.unit_price, r.segments, r.cost, r.carrier_fee, r.total, r.occurred_at)
        for r in UsageRecord.objects.filter(workspace=workspace)
    }
    assert stored == expected_records
    for wallet_id, (cost, carrier) in expected_charges.items():
        for kind, amount, link, part in (
            ("message_charge", cost, "posting", "cost"),
            ("carrier_fee", carrier, "carrier_posting", "carrier_fee"),
        ):
            postings = WalletTransaction.objects.filter(wallet_id=wallet_id, kind=kind)
            assert sum((p.amount for p in postings), ZERO) == -amount
            assert postings.count() <= len(batches)  # one per wallet per batch, none for nothing
            for posting in postings:
                linked = UsageRecord.objects.filter(**{link: posting})
                assert set(linked.values_list("wallet_id", flat=True)) == {wallet_id}
                assert sum((getattr(r, part) for r in linked), ZERO) == -posting.amount
    rollups = {
        (r.wallet_id, r.channel_id, r.day, r.message_type, r.category, r.direction, r.status): [
            r.messages, r.segments, r.cost, r.carrier_fee, r.total
        ]
        for r in DailyUsageRollup.objects.all()
    }  # fmt: skip
    assert rollups == {key: list(sums) for key, sums in expected_buckets.items()}
    assert sum(v[0] for v in rollups.values()) == len(expected_records)
    assert ledger_verify().problems == []
