"""PostgreSQL writes the usage CSV with COPY, every cell formatted in SQL; the file must be
what Python's csv module writes for the same rows (`_python_csv` below, the definition of
the format). Checked over one random data set built to trip the SQL up: text that
needs quoting or neutralising (commas, quotes, line breaks, = + - @ tab CR first, unicode,
empty strings), records without a number, zero and large amounts, microseconds, records
on and around every offset change of zones with DST (whole hours, half hours, 45 minutes,
Casablanca's Ramadan reversal), every ledger kind, both wallets and a channel filter.
"""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from tests.factories import ChannelFactory, PhoneNumberFactory, UsageRecordFactory, WorkspaceFactory, wallet_of
from usage import exports, selectors
from usage.models import Channel, NumberFeeCharge, UsageRecord
from usage.selectors import UsageFilters
from wallets.models import Wallet, WalletTransaction
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db

FIRST_DAY, LAST_DAY = date(2025, 12, 1), date(2026, 11, 30)  # the one-year range exported
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",  # +05:30, no DST
    "America/St_Johns",  # -03:30 / -02:30
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # +01, back to +00 for Ramadan
]
AWKWARD = [
    "plain",
    "with, comma",
    'with "quotes"',
    '"',
    "line\nbreak",
    "crlf\r\nbreak",
    "cr\rbreak",
    "=SUM(A1:A9)",
    "+1+1",
    "-2+3",
    "@cmd",
    "\tleading tab",
    "\rleading cr",
    "\nleading lf",
    " leading space",
    "trailing space ",
    "inner\ttab",
    "'already quoted",
    "\\.",
    "Ünïcødé 📱 线路",
    "=😀",
    'ends with quote"',
    ",",
]
PHONE_TEXTS = ["+14155550100", "-1234", "=1+1", "@1", "", "1,2", '"7"', "+4420\n79"]


def _transitions(zone: str) -> list[datetime]:
    """Instants in and around the range at which the zone's UTC offset changes, found by a
    plain scan (15 minutes, then seconds) independent of the code under test."""
    tz = ZoneInfo(zone)
    moment = datetime(2025, 11, 25, tzinfo=UTC)
    found = []
    while moment < datetime(2026, 12, 5, tzinfo=UTC):
        step = moment + timedelta(minutes=15)
        if step.astimezone(tz).utcoffset() != moment.astimezone(tz).utcoffset():
            second = moment
            while second.astimezone(tz).utcoffset() == moment.astimezone(tz).utcoffset():
                second += timedelta(seconds=1)
            found.append(second)
        moment = step
    return found


def _amount(rng: random.Random) -> Decimal:
    return rng.choice(
        [Decimal("0"), Decimal("0.000001"), Decimal("123456789.123456"), Decimal(rng.randrange(10**8)).scaleb(-6)]
    )


def _moment(rng: random.Random, near: list[datetime]) -> datetime:
    if near and rng.random() < 0.4:
        moment = rng.choice(near) + timedelta(seconds=rng.choice([-3600, -1, 0, 1, 1799, 3600]))
    else:
        start = datetime(2025, 11, 28, tzinfo=UTC)
        moment = start + timedelta(seconds=rng.randrange(int(timedelta(days=372).total_seconds())))
    if rng.random() < 0.3:
        moment = moment.replace(microsecond=rng.choice([1, 500000, 999999, rng.randrange(10**6)]))
    return moment


@pytest.fixture
def awkward_workspace(db):
    """A workspace whose every text, amount and time is chosen to trip the SQL writer up."""
    rng = random.Random(20261123)
    workspace = WorkspaceFactory(slug="awkward")
    other = WorkspaceFactory(slug="other")  # its rows must never appear
    near = sorted({moment for zone in ZONES for moment in _transitions(zone)})

    sms_channels = [ChannelFactory(workspace=workspace, display_name=name) for name in [*AWKWARD[:8], ""]]
    whatsapp = ChannelFactory(workspace=workspace, kind=Channel.Kind.WHATSAPP_CLOUD, display_name="@WhatsApp, main")
    numbers = [
        PhoneNumberFactory(channel=rng.choice(sms_channels), number=text[:16]) for text in [*PHONE_TEXTS, *AWKWARD[1:8]]
    ]
    ChannelFactory(workspace=other)

    message_ids = [f"{text}{n}" for n, text in enumerate(AWKWARD * 8)] + [""]
    for message_id in message_ids:
        channel = rng.choice([*sms_channels, whatsapp])
        is_sms = channel.kind == Channel.Kind.SMS
        held = [number for number in numbers if number.channel_id == channel.pk]
        cost, carrier_fee = _amount(rng), _amount(rng)
        UsageRecordFactory(
            channel=channel,
            phone_number=rng.choice([*held, None]) if is_sms else None,
            message_id=message_id,
            message_type=rng.choice(["sms", "mms"] if is_sms else ["whatsapp"]),
            category="" if is_sms else rng.choice([c for c, _ in UsageRecord.Category.choices if c]),
            direction=rng.choice(UsageRecord.Direction.values),
            status=rng.choice(UsageRecord.Status.values),
            segments=rng.choice([0, 1, 2, 10, 255]),
            unit_price=_amount(rng),
            cost=cost,
            carrier_fee=carrier_fee,
            total=cost + carrier_fee,
            occurred_at=_moment(rng, near),
        )
    UsageRecordFactory(channel=Channel.objects.get(workspace=other), occurred_at=datetime(2026, 6, 1, tzinfo=UTC))

    postings = []
    for kind in [kind for kind, _ in WalletTransaction.Kind.choices] * 6:
        for wallet_kind in Wallet.Kind.values:
            amount = _amount(rng) or Decimal("1")
            signed = -amount if kind in ("number_fee", "message_charge", "carrier_fee", "refund") else amount
            if kind == "adjustment" and rng.random() < 0.5:
                signed = -signed
            postings.append((_moment(rng, near), wallet_kind, kind, signed, rng.choice([*AWKWARD, ""])))
    for n, (moment, wallet_kind, kind, amount, memo) in enumerate(sorted(postings)):
        with time_machine.travel(moment, tick=False):
            posting = ledger_post(
                wallet_id=wallet_of(workspace, wallet_kind).id,
                kind=kind,
                amount=amount,
                idempotency_key=f"awkward:{n}",
                memo=memo,
            ).transaction
            if kind == "number_fee" and n % 4:  # some fees have no charge row (no number, no channel)
                NumberFeeCharge.objects.create(
                    phone_number=numbers[n % len(numbers)],
                    period_start=moment.date() + timedelta(days=n),
                    period_end=moment.date() + timedelta(days=n + 29),
                    amount=-amount,
                    status="charged",
                    posting=posting,
                )
    return workspace


def _python_csv(wallet: Wallet, filters: UsageFilters) -> bytes:
    """The file as Python's csv module writes it from the ORM's rows: the format's definition."""
    tz, labels = selectors.workspace_tz(wallet), exports.LABELS
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    records = (
        selectors.usage_records(wallet=wallet, filters=filters)
        .order_by("occurred_at", "id")
        .values_list("occurred_at", "channel__display_name", "phone_number__number", *exports.RECORD_COLUMNS)
    )
    for occurred_at, channel, number, message_id, mtype, category, direction, status, *amounts in records:
        when = occurred_at.astimezone(tz).isoformat()
        texts = [exports.cell(text) for text in (channel, number or "", message_id)]
        names = [labels[mtype], labels[category], labels[direction], labels[status]]
        writer.writerow(["message", when, *texts, *names, *amounts, -amounts[-1], ""])
    postings = exports._ledger_postings(wallet=wallet, filters=filters).values_list(
        "kind", "created_at", "channel", "number", "amount", "memo"
    )
    for kind, created_at, channel, number, amount, memo in postings:
        fee = -amount if kind == WalletTransaction.Kind.NUMBER_FEE else ""
        when = timezone.localtime(created_at, tz).isoformat()
        row = [kind, when, channel or "", number or "", "", labels[kind], *[""] * 7, fee, amount, memo]
        writer.writerow([exports.cell(value) for value in row])
    return buffer.getvalue().encode()


def _both(wallet: Wallet, filters: UsageFilters) -> tuple[bytes, bytes]:
    written = _python_csv(wallet, filters)
    copied = b"".join(exports._copied_pieces(wallet=wallet, filters=filters))
    return written, copied


@pytest.mark.parametrize("zone", ZONES)
def test_copy_writes_the_bytes_pythons_csv_module_writes(awkward_workspace, zone, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 7)  # many pieces, some with line breaks inside cells
    awkward_workspace.timezone = zone
    awkward_workspace.save()
    year = UsageFilters(start=FIRST_DAY, end=LAST_DAY, channel=None)
    compared = 0

    for kind in Wallet.Kind.values:
        wallet = Wallet.objects.select_related("workspace").get(workspace=awkward_workspace, kind=kind)
        written, copied = _both(wallet, year)
        assert copied == written
        compared += written.count(b"\r\n")
    sms = Wallet.objects.select_related("workspace").get(workspace=awkward_workspace, kind="sms")
    for channel in Channel.objects.filter(workspace=awkward_workspace, kind=Channel.Kind.SMS)[:3]:
        written, copied = _both(sms, UsageFilters(start=FIRST_DAY, end=LAST_DAY, channel=channel))
        assert copied == written
    # A range that starts and ends on days with an offset change (New York's, London's).
    written, copied = _both(sms, UsageFilters(start=date(2026, 3, 8), end=date(2026, 3, 29), channel=None))
    assert copied == written

    # Sanity: the comparison covered the data (most records and postings fall in the range).
    assert compared > UsageRecord.objects.filter(workspace=awkward_workspace).count()


def test_the_offsets_of_a_zone_are_those_python_gives_each_instant(awkward_workspace):
    tz = ZoneInfo("Australia/Lord_Howe")
    start, end = UsageFilters(start=FIRST_DAY, end=LAST_DAY, channel=None).bounds(tz)
    periods = exports._zone_periods(tz, start, end)

    assert [since for since, _, _ in periods[1:]] == [t for t in _transitions("Australia/Lord_Howe") if start < t < end]
    for (since, offset, suffix), following in zip(periods, [*periods[1:], None], strict=True):
        until = following[0] if following else end
        for moment in (since, until - timedelta(microseconds=1)):
            local = moment.astimezone(tz)
            assert local.utcoffset() == offset
            assert local.replace(microsecond=0).isoformat().endswith(suffix)
