"""Realistic data at production scale, fast: COPY for the big tables, a valid ledger.

One "main" workspace gets every usage record (SMS and MMS on four SMS channels
holding its numbers, WhatsApp on one channel) spread over the last `--months`
months; `--workspaces` other workspaces share the other numbers (one SMS channel
each, a funded SMS wallet, a monthly fee due on every number).

The ledger stays small and chained: per wallet one top-up, then per local day one
message_charge and one carrier_fee posting that every record of that day links to.
Rows are generated twice from the same seed: the first pass sums the days and the
rollups (so the ledger ids exist before the records name them), the second streams
the records into COPY, so memory stays flat whatever `--rows` is.
"""

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from usage.models import Channel, DailyUsageRollup, PhoneNumber, PriceList, UsageRecord
from usage.pricing import NoPrice, PriceBook
from wallets.models import Wallet, WalletTransaction, Workspace

MICRO = 10**6
MAIN_SLUG = "bench-main"
MAIN_TZ = "America/New_York"  # has DST, so local days are not a fixed offset from UTC
MAIN_SMS_CHANNELS = 4
NUMBER_FEE = Decimal("1.150000")
OTHER_TOP_UP = Decimal("100.000000")
MAIN_HEADROOM = Decimal("500.000000")  # what the main wallets keep after a year of usage
COUNTRIES = ("US", "US", "US", "CA", "GB", "HK")
Kind = WalletTransaction.Kind


def micros(value: Decimal) -> int:
    return int(value * MICRO)


def money_text(value: int) -> str:
    """Integer micro-dollars as the exact 6-place text PostgreSQL reads."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // MICRO}.{value % MICRO:06d}"


@dataclass(frozen=True)
class MessageKind:
    message_type: str
    category: str
    direction: str
    country: str
    segments: int
    status: str
    unit_price: int
    cost: int
    carrier_fee: int


def _quotes(*, at: datetime) -> tuple[list[MessageKind], list[MessageKind]]:
    """The priced kinds of message records are drawn from: SMS/MMS ones and WhatsApp ones."""
    book = PriceBook.load(countries=set(COUNTRIES))
    sms, whatsapp = [], []
    for country in sorted(set(COUNTRIES)):
        for direction in ("outbound", "outbound", "inbound"):
            for status in ("delivered",) * 9 + ("failed",):
                combos = [("sms", "", s) for s in (1, 1, 1, 2, 3)] + [("mms", "", 1)]
                combos += [("whatsapp", c, 1) for c in ("marketing", "utility", "authentication", "service")]
                for message_type, category, segments in combos:
                    try:
                        quote = book.quote(
                            at=at,
                            message_type=message_type,
                            category=category,
                            direction=direction,
                            country=country,
                            segments=segments,
                            status=status,
                        )
                    except NoPrice:
                        continue
                    kind = MessageKind(
                        message_type,
                        category,
                        direction,
                        country,
                        quote.segments,
                        status,
                        micros(quote.unit_price),
                        micros(quote.cost),
                        micros(quote.carrier_fee),
                    )
                    (whatsapp if message_type == "whatsapp" else sms).append(kind)
    return sms, whatsapp


@dataclass(frozen=True)
class Row:
    index: int
    channel_id: int
    wallet_id: int
    number_id: int | None
    kind: MessageKind
    epoch: int


class Command(BaseCommand):
    help = "Generate realistic usage, numbers and a valid ledger fast (COPY). See usage/management/commands."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--workspaces", type=int, default=10, help="Other workspaces (besides the main one)")
        parser.add_argument("--numbers", type=int, default=100, help="Numbers held by the other workspaces")
        parser.add_argument("--rows", type=int, default=10_000, help="Usage records of the main workspace")
        parser.add_argument("--months", type=int, default=12, help="How far back the usage goes")
        parser.add_argument("--seed", type=int, default=9)

    def handle(self, *args, **options) -> None:
        for name in ("workspaces", "numbers", "rows", "months"):
            if options[name] < 0 or (name == "months" and options[name] < 1):
                raise CommandError(f"--{name} must be a positive number.")
        if Workspace.objects.filter(slug=MAIN_SLUG).exists():
            raise CommandError(f"Workspace {MAIN_SLUG!r} exists already: generate into an empty database.")
        if not PriceList.objects.exists():
            call_command("loaddata", "default_price_list", verbosity=0)
        self.now = timezone.now().replace(microsecond=0)
        with transaction.atomic():
            main = self._main(rows=options["rows"], months=options["months"], seed=options["seed"])
            self._others(workspaces=options["workspaces"], numbers=options["numbers"])
        with connection.cursor() as cursor:
            # As autovacuum would, soon: plans chosen on the tables' old (empty) statistics
            # would scan where an index serves.
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {options['rows']} usage records in {main.slug}, "
                f"{options['workspaces']} other workspaces with {options['numbers']} numbers."
            )
        )

    # --- the main workspace -------------------------------------------------------------

    def _main(self, *, rows: int, months: int, seed: int) -> Workspace:
        workspace = Workspace.objects.create(name="Bench main", slug=MAIN_SLUG, timezone=MAIN_TZ)
        wallets = {
            kind: Wallet.objects.create(workspace=workspace, kind=kind) for kind in (Wallet.Kind.SMS, "whatsapp")
        }
        sms_channels = Channel.objects.bulk_create(
            Channel(workspace=workspace, kind=Channel.Kind.SMS, display_name=f"SMS line {i + 1}")
            for i in range(MAIN_SMS_CHANNELS)
        )
        whatsapp = Channel.objects.create(
            workspace=workspace, kind=Channel.Kind.WHATSAPP_CLOUD, display_name="WhatsApp main"
        )
        numbers = PhoneNumber.objects.bulk_create(
            PhoneNumber(
                channel=sms_channels[i % MAIN_SMS_CHANNELS],
                number=f"+1202555{i:04d}",
                country="US",
                monthly_fee=NUMBER_FEE,
                purchased_at=self.now - timedelta(days=40),
            )
            for i in range(20)
        )
        sms_kinds, whatsapp_kinds = _quotes(at=self.now)
        tz = ZoneInfo(MAIN_TZ)
        start = int((self.now - timedelta(days=30 * months)).timestamp())
        end = int(self.now.timestamp()) - 3600

        def generate() -> Iterator[Row]:
            rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
            for index in range(rows):
                if rng.random() < 0.1:
                    channel_id, wallet_id, number_id = whatsapp.id, wallets["whatsapp"].id, None
                    kind = rng.choice(whatsapp_kinds)
                else:
                    number = rng.choice(numbers)
                    channel_id, wallet_id, number_id = number.channel_id, wallets["sms"].id, number.id
                    kind = rng.choice(sms_kinds)
                yield Row(index, channel_id, wallet_id, number_id, kind, rng.randrange(start, end))

        offsets: dict[int, int] = {}

        def local_day(epoch: int) -> int:
            """Days since the epoch in the workspace's zone (offsets change on the hour only)."""
            hour = epoch // 3600
            if hour not in offsets:
                offsets[hour] = int(datetime.fromtimestamp(hour * 3600, tz).utcoffset().total_seconds())
            return (epoch + offsets[hour]) // 86400

        # Pass 1: per-day charges and rollups.
        days: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])  # cost, carrier, last epoch
        rollups: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # messages, segments, cost, carrier
        for row in generate():
            day = local_day(row.epoch)
            sums = days[(row.wallet_id, day)]
            sums[0] += row.kind.cost
            sums[1] += row.kind.carrier_fee
            sums[2] = max(sums[2], row.epoch)
            k = row.kind
            bucket = rollups[(row.wallet_id, row.channel_id, day, k.message_type, k.category, k.direction, k.status)]
            bucket[0] += 1
            bucket[1] += k.segments
            bucket[2] += k.cost
            bucket[3] += k.carrier_fee

        postings = self._main_ledger(wallets=list(wallets.values()), days=days)
        self._copy_rollups(rollups)

        # Pass 2: the records, streamed.
        def record_lines() -> Iterator[str]:
            for row in generate():
                k = row.kind
                day = local_day(row.epoch)
                charge, carrier = (
                    postings.get((row.wallet_id, day, Kind.MESSAGE_CHARGE)),
                    postings.get((row.wallet_id, day, Kind.CARRIER_FEE)),
                )
                moment = datetime.fromtimestamp(row.epoch, UTC).isoformat()
                yield (
                    "\t".join(
                        (
                            str(workspace.id),
                            str(row.wallet_id),
                            str(row.channel_id),
                            str(row.number_id) if row.number_id else r"\N",
                            f"gen-{row.index}",
                            k.message_type,
                            k.category,
                            k.direction,
                            k.status,
                            k.country,
                            str(k.segments),
                            money_text(k.unit_price),
                            money_text(k.cost),
                            money_text(k.carrier_fee),
                            money_text(k.cost + k.carrier_fee),
                            moment,
                            moment,
                            str(charge) if charge and k.cost else r"\N",
                            str(carrier) if carrier and k.carrier_fee else r"\N",
                        )
                    )
                    + "\n"
                )

        columns = (
            "workspace_id, wallet_id, channel_id, phone_number_id, message_id, message_type, category, direction,"
            " status, country, segments, unit_price, cost, carrier_fee, total, occurred_at, recorded_at,"
            " posting_id, carrier_posting_id"
        )
        _copy(f"COPY {UsageRecord._meta.db_table} ({columns}) FROM STDIN", record_lines())
        return workspace

    def _main_ledger(
        self, *, wallets: list[Wallet], days: dict[tuple[int, int], list[int]]
    ) -> dict[tuple[int, int, str], int]:
        """A top-up that covers the year plus headroom, then the daily charges; returns their ids."""
        entries: list[tuple[int, str, int, datetime, str, tuple]] = []
        for wallet in wallets:
            wallet_days = sorted((day, sums) for (wallet_id, day), sums in days.items() if wallet_id == wallet.id)
            spend = sum(cost + carrier for _, (cost, carrier, _) in wallet_days)
            first = datetime.fromtimestamp(wallet_days[0][1][2], UTC) if wallet_days else self.now
            entries.append(
                (
                    wallet.id,
                    Kind.TOP_UP,
                    spend + micros(MAIN_HEADROOM),
                    first - timedelta(days=1),
                    "generate:top-up",
                    (),
                )
            )
            for day, (cost, carrier, last) in wallet_days:
                at = datetime.fromtimestamp(last, UTC)
                for kind, amount in ((Kind.MESSAGE_CHARGE, cost), (Kind.CARRIER_FEE, carrier)):
                    if amount:
                        key = f"generate:{kind}:{date.fromordinal(day + 719163)}"
                        entries.append((wallet.id, kind, -amount, at, key, (wallet.id, day, kind)))
        ids = _ledger_copy(entries)
        return {tag: posting_id for posting_id, (*_, tag) in zip(ids, entries, strict=True) if tag}

    def _copy_rollups(self, rollups: dict[tuple, list[int]]) -> None:
        def lines() -> Iterator[str]:
            for (wallet_id, channel_id, day, *kind), (messages, segments, cost, carrier) in rollups.items():
                values = [str(wallet_id), str(channel_id), date.fromordinal(day + 719163).isoformat(), *kind]
                values += [str(messages), str(segments), money_text(cost), money_text(carrier)]
                yield "\t".join([*values, money_text(cost + carrier)]) + "\n"

        columns = (
            "wallet_id, channel_id, day, message_type, category, direction, status,"
            " messages, segments, cost, carrier_fee, total"
        )
        _copy(f"COPY {DailyUsageRollup._meta.db_table} ({columns}) FROM STDIN", lines())

    # --- the other workspaces ----------------------------------------------------------

    def _others(self, *, workspaces: int, numbers: int) -> None:
        if not workspaces:
            return
        created = Workspace.objects.bulk_create(
            (Workspace(name=f"Customer {i:05d}", slug=f"customer-{i:05d}") for i in range(workspaces)),
            batch_size=5000,
        )
        Wallet.objects.bulk_create(
            (Wallet(workspace=w, kind=kind) for w in created for kind in (Wallet.Kind.SMS, Wallet.Kind.WHATSAPP)),
            batch_size=5000,
        )
        channels = Channel.objects.bulk_create(
            (Channel(workspace=w, kind=Channel.Kind.SMS, display_name="SMS") for w in created), batch_size=5000
        )
        purchased = self.now - timedelta(days=40)  # one monthly period due now on every number

        def number_lines() -> Iterator[str]:
            for i in range(numbers):
                channel = channels[i % len(channels)]
                values = (str(channel.id), f"+1303{i:07d}", "US", money_text(micros(NUMBER_FEE)), purchased.isoformat())
                yield "\t".join([*values, PhoneNumber.Status.ACTIVE]) + "\n"

        _copy(
            f"COPY {PhoneNumber._meta.db_table} (channel_id, number, country, monthly_fee, purchased_at, status)"
            " FROM STDIN",
            number_lines(),
        )
        sms_wallets = Wallet.objects.filter(workspace__in=created, kind=Wallet.Kind.SMS).values_list("id", flat=True)
        at = purchased - timedelta(days=1)
        _ledger_copy(
            [(wallet_id, Kind.TOP_UP, micros(OTHER_TOP_UP), at, "generate:top-up", ()) for wallet_id in sms_wallets]
        )


def _copy(statement: str, lines: Iterator[str], *, chunk: int = 5000) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        buffer: list[str] = []
        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))


def _ledger_copy(entries: list[tuple[int, str, int, datetime, str, tuple]]) -> list[int]:
    """COPY ledger rows, chained per wallet in list order, and set the cached balances.

    Ids come from the table's sequence in ascending order, so each wallet's rows are
    chained in the order the trigger checks (by id). This is a bulk loader for an
    empty database, the one place besides ledger_post that writes ledger rows.
    """
    table = WalletTransaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",  # noqa: S608
            [len(entries)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    balances: dict[int, int] = defaultdict(int)

    def lines() -> Iterator[str]:
        for posting_id, (wallet_id, kind, amount, at, key, _) in zip(ids, entries, strict=True):
            before = balances[wallet_id]
            balances[wallet_id] = before + amount
            values = (posting_id, wallet_id, kind, money_text(amount), money_text(before))
            values += (money_text(before + amount), key, at.isoformat())
            yield "\t".join(str(value) for value in values) + "\t\t\n"

    _copy(
        f"COPY {table} (id, wallet_id, kind, amount, balance_before, balance_after, idempotency_key, created_at,"
        " reference, memo) FROM STDIN",
        lines(),
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Wallet._meta.db_table} SET balance = %s WHERE id = %s",  # noqa: S608
            [(Decimal(money_text(balance)), wallet_id) for wallet_id, balance in balances.items()],
        )
    return ids
