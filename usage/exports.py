"""The usage CSV: one row per message, then the wallet's other ledger rows, streamed.

Reconciling: `wallet_change` is each row's signed effect on the balance (messages
and number fees negative, top-ups positive, adjustments and refunds as posted).
For all channels, its sum is the balance change over the range; `total` sums to
the page's total spend. With one channel selected the file holds that channel's
messages and its numbers' fees only: top-ups, adjustments and refunds belong to
the wallet, not to a channel.

Formula injection: a spreadsheet runs a cell that starts with = + - @ tab or CR.
Text cells (names, ids, numbers like +1415..., memos) that start with one of those
get a leading single quote. Amounts and counts are written by us from Decimal and
int as plain numbers (`-1.150000`): a number is never a formula, and quoting it
would turn it into text that no longer sums, so they are left as they are.

PostgreSQL writes the file itself: `COPY (SELECT <formatted cells>) TO STDOUT WITH CSV`,
handed on CHUNK_SIZE lines at a time as they arrive (bench/: the CSV export). The file is
what Python's csv module would write for the same rows (the golden file in
tests/data/ and tests/test_usage_export_golden.py pin it), so each formatting rule is
written in SQL:
- times are `isoformat()` in the workspace's zone, with the zone's offsets worked out
  by Python's zoneinfo (`_zone_periods`), so PostgreSQL's own time zone data (which
  may be older or newer) never decides a time;
- numeric(18, 6) prints as `str(Decimal)` does, and `-x` as `-Decimal` does (no -0);
- COPY's CSV quotes a cell holding a comma, a quote, CR or LF and doubles its quotes,
  as csv.writer does; it writes NULL as an empty cell but '' as "", so every empty cell
  is NULL; its rows end in LF, made CRLF on the way out (`_crlf`).

WhatsApp rows end with what priced them: the price-list version's name, then Meta's own
terms (pricing_model, pricing_type, free_reason as values, not labels), the volume tier
and the price the platform reported Meta charged, so a row can be matched to Meta's invoice.
"""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

from django.db import connections, router
from django.db.models import F, OuterRef, QuerySet, Subquery

from common.db import read_snapshot
from usage.models import NumberFeeCharge, UsageRecord
from usage.selectors import (
    OTHER_LEDGER_KINDS,
    UsageFilters,
    number_fee_postings,
    usage_records,
    workspace_tz,
)
from wallets.models import Wallet, WalletTransaction

CHUNK_SIZE = 2000
# The record's own columns in the file, in file order (after time, channel and number).
RECORD_COLUMNS = ("message_id", "message_type", "category", "direction", "status", "segments", "unit_price",
                  "cost", "carrier_fee", "total")  # fmt: skip
# What priced a WhatsApp message (empty for SMS/MMS), in Meta's own terms so that a row
# can be matched to Meta's invoice: the version's name, then values, not labels.
PRICING_COLUMNS = ("pricing_model", "pricing_type", "free_reason", "tier", "reported_price")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "row_type date_time channel number message_id type category direction status"
    " segments unit_price cost carrier_fee total wallet_change description"
    " price_list pricing_model pricing_type free_reason tier reported_price"
).split()
LABELS = {
    **dict(UsageRecord.MessageType.choices),
    **dict(UsageRecord.Category.choices),
    **dict(UsageRecord.Direction.choices),
    **dict(UsageRecord.Status.choices),
    **dict(WalletTransaction.Kind.choices),
    "": "",
}


def cell(value: object) -> object:
    """Neutralise text a spreadsheet would run; numbers pass through untouched."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def usage_csv_lines(*, wallet: Wallet, filters: UsageFilters) -> Iterator[bytes]:
    """The CSV as UTF-8, header first, then pieces of up to CHUNK_SIZE lines.

    A piece per chunk rather than a string per line: a million-line export spent a
    third of its time handing single lines through generators and the response.
    """
    buffer = io.StringIO()
    csv.writer(buffer).writerow(HEADER)
    yield buffer.getvalue().encode()  # at once: the browser starts the download before the first query
    yield from _copied_pieces(wallet=wallet, filters=filters)


def usage_csv_filename(*, wallet: Wallet, filters: UsageFilters) -> str:
    channel = f"_channel-{filters.channel.pk}" if filters.channel is not None else ""
    return f"{wallet.workspace.slug}_{wallet.kind}-wallet_{filters.start}_to_{filters.end}{channel}.csv"


def _ledger_postings(*, wallet: Wallet, filters: UsageFilters) -> QuerySet[WalletTransaction]:
    """The non-message ledger rows of the range in file order, each with its number fee's number and channel."""
    if filters.channel is not None:
        postings = number_fee_postings(wallet=wallet, filters=filters)
    else:
        start, end = filters.bounds(workspace_tz(wallet))
        postings = WalletTransaction.objects.filter(
            wallet=wallet, kind__in=OTHER_LEDGER_KINDS, created_at__gte=start, created_at__lt=end
        )
    charge = NumberFeeCharge.objects.filter(posting=OuterRef("pk"))
    return postings.annotate(
        number=Subquery(charge.values("phone_number__number")[:1]),
        channel=Subquery(charge.values("phone_number__channel__display_name")[:1]),
    ).order_by("created_at", "id")


# --- PostgreSQL's COPY ----------------------------------------------------------------

Sql = tuple[str, list]
DAY_SECONDS = 86400
ZonePeriod = tuple[datetime, timedelta, str]  # from (UTC), the offset, the offset as isoformat() writes it


def _copied_pieces(*, wallet: Wallet, filters: UsageFilters) -> Iterator[bytes]:
    tz = workspace_tz(wallet)
    periods = _zone_periods(tz, *filters.bounds(tz))
    # The database the ORM would read usage from (the read replica, when the export may use
    # it), chosen once: both parts are then of one snapshot on one server, and behind
    # PgBouncer one server connection holds the whole file.
    using = router.db_for_read(UsageRecord)
    with read_snapshot(using):
        yield from _copy_out(_message_sql(wallet=wallet, filters=filters, periods=periods), using=using)
        # The ledger query only starts once the last message row is out.
        yield from _copy_out(_ledger_sql(wallet=wallet, filters=filters, periods=periods), using=using)


def _copy_out(query: Sql, *, using: str) -> Iterator[bytes]:
    sql, params = query
    connection = connections[using]
    # Bound here (as psycopg binds COPY's parameters anyway, on the client): Django's debug
    # cursor, used under DEBUG and by CaptureQueriesContext, takes the statement alone.
    statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.copy(statement) as copy:
            # One block per row: PostgreSQL sends each row in a CopyData message of its own.
            # Copied out of psycopg's buffer at once: holding a chunk's 2,000 memoryviews
            # kept the garbage collector busy (twice the client's CPU time).
            lines = map(bytes, copy)
            while chunk := list(islice(lines, CHUNK_SIZE)):
                yield _crlf(chunk)


def _crlf(lines: list) -> bytes:
    """Join COPY's rows, each ending in LF, into rows ending in CRLF as csv.writer writes them.

    Line breaks inside a (quoted) cell stay as they are, as csv.writer leaves them.
    """
    piece = b"".join(lines)
    if piece.count(b"\n") == len(lines):  # no line break inside a cell: each LF ends a row
        return piece.replace(b"\n", b"\r\n")
    return b"\r\n".join([line[:-1] for line in lines]) + b"\r\n"


def _message_sql(*, wallet: Wallet, filters: UsageFilters, periods: list[ZonePeriod]) -> Sql:
    # The records query of the usage page (and the bench's COPY baseline), joins and
    # order included, so that PostgreSQL plans the reading as it plans that query: at a
    # million rows, a parallel scan and sort. The cells are formatted over its rows.
    records_sql, records_params = (
        usage_records(wallet=wallet, filters=filters)
        .order_by("occurred_at", "id")
        .values(
            "id",
            "occurred_at",
            *RECORD_COLUMNS,
            *PRICING_COLUMNS,
            channel_name=F("channel__display_name"),
            number=F("phone_number__number"),
            price_list_name=F("price_list__name"),
        )
        .query.sql_with_params()
    )
    date_time, date_time_params = _local_time_sql("m.occurred_at", periods)
    labels = [_label_sql(f"m.{name}", name) for name in ("message_type", "category", "direction", "status")]
    # Only constant identifiers are formatted in; every value is a query parameter.
    sql = f"""
        SELECT 'message', {date_time}, {_text_cell_sql("m.channel_name")}, {_text_cell_sql("m.number")},
               {_text_cell_sql("m.message_id")}, {", ".join(label for label, _ in labels)},
               m.segments, m.unit_price, m.cost, m.carrier_fee, m.total, -m.total, NULL,
               {_text_cell_sql("m.price_list_name")}, NULLIF(m.pricing_model, ''), NULLIF(m.pricing_type, ''),
               NULLIF(m.free_reason, ''), m.tier, m.reported_price
        FROM ({records_sql}) m
        ORDER BY m.occurred_at, m.id
    """  # noqa: S608
    return sql, [*date_time_params, *(param for _, params in labels for param in params), *records_params]


def _ledger_sql(*, wallet: Wallet, filters: UsageFilters, periods: list[ZonePeriod]) -> Sql:
    postings_sql, postings_params = (
        _ledger_postings(wallet=wallet, filters=filters)
        .values("id", "kind", "created_at", "channel", "number", "amount", "memo")
        .query.sql_with_params()
    )
    date_time, date_time_params = _local_time_sql("p.created_at", periods)
    label, label_params = _label_sql("p.kind", "kind", model=WalletTransaction)
    # Kinds and their labels are ours, never formulas; channel, number and memo are neutralised.
    sql = f"""
        SELECT p.kind, {date_time}, {_text_cell_sql("p.channel")}, {_text_cell_sql("p.number")}, NULL, {label},
               NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               CASE WHEN p.kind = %s THEN -p.amount END, p.amount, {_text_cell_sql("p.memo")},
               {", ".join(["NULL"] * (len(PRICING_COLUMNS) + 1))}
        FROM ({postings_sql}) p
        ORDER BY p.created_at, p.id
    """  # noqa: S608
    return sql, [*date_time_params, *label_params, WalletTransaction.Kind.NUMBER_FEE, *postings_params]


def _text_cell_sql(column: str) -> str:
    """`cell(column)` as a COPY cell: NULL for NULL or '' (an empty cell, as csv.writer writes "")."""
    # ascii() is the first character's code point: one integer test instead of six text ones.
    triggers = ", ".join(str(ord(character)) for character in FORMULA_TRIGGERS)
    neutralised = f"WHEN ascii({column}) IN ({triggers}) THEN '''' || {column}"
    return f"CASE {neutralised} WHEN {column} = '' THEN NULL ELSE {column} END"


def _label_sql(column: str, field_name: str, model: type = UsageRecord) -> Sql:
    """`LABELS[column]` for a field with choices; an empty label is NULL (an empty cell)."""
    pairs = [(value, LABELS[value]) for value, _ in model._meta.get_field(field_name).choices if LABELS[value]]
    return f"CASE {column} {' '.join(['WHEN %s THEN %s'] * len(pairs))} END", [item for pair in pairs for item in pair]


def _zone_periods(tz: ZoneInfo, start: datetime, end: datetime) -> list[ZonePeriod]:
    """The UTC offsets `tz` takes over [start, end), in time order, the first from `start`.

    zoneinfo has no API for a zone's transitions, so they are found by asking for
    the offset once a day and bisecting each change down to its second (transitions
    fall on whole seconds). A day is a safe step: no zone of the tz database has
    changed its offset twice within three days since 1970 (checked hour by hour, all
    599 zones, 1970 to 2040). A year costs about 800 lookups, under a millisecond.
    """

    def period(epoch: int) -> ZonePeriod:
        local = datetime.fromtimestamp(epoch, tz)
        # Microsecond 0, so isoformat() is YYYY-MM-DDTHH:MM:SS (19 characters), then the offset.
        return datetime.fromtimestamp(epoch, UTC), local.utcoffset(), local.isoformat()[19:]

    first, last = int(start.timestamp()), int(end.timestamp())
    periods = [period(first)]
    for day in range(first, last, DAY_SECONDS):
        before, after = day, min(day + DAY_SECONDS, last)
        offset = periods[-1][1]
        if datetime.fromtimestamp(after, tz).utcoffset() == offset:
            continue
        while after - before > 1:
            middle = (before + after) // 2
            if datetime.fromtimestamp(middle, tz).utcoffset() == offset:
                before = middle
            else:
                after = middle
        periods.append(period(after))
    return periods


def _local_time_sql(column: str, periods: list[ZonePeriod]) -> Sql:
    """`column.astimezone(tz).isoformat()`: the UTC time plus its period's offset, then that offset
    as isoformat() writes it; microseconds only when there are some (to_char's US writes six
    digits always, isoformat() none for 0, and a date never holds '.000000')."""

    def local_time(offset: timedelta, suffix: str) -> Sql:
        text = f"replace(to_char({column} AT TIME ZONE 'UTC' + %s, %s), '.000000', '')"
        return text, [offset, f'YYYY-MM-DD"T"HH24:MI:SS.US"{suffix}"']

    *earlier, (_, offset, suffix) = periods
    sql, params = local_time(offset, suffix)
    if not earlier:
        return sql, params
    branches, branch_params = [], []
    for (_, offset, suffix), (until, _, _) in pairwise(periods):
        text, text_params = local_time(offset, suffix)
        branches.append(f"WHEN {column} < %s THEN {text}")
        branch_params += [until, *text_params]
    return f"CASE {' '.join(branches)} ELSE {sql} END", [*branch_params, *params]
