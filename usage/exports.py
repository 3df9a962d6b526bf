"""The usage CSV: one row per message, then the wallet's other ledger rows, streamed.

Rows are read with `.iterator(chunk_size=CHUNK_SIZE)` (a server-side cursor on
PostgreSQL) and written one at a time, so a million-row export holds one chunk in
memory, never the whole range.

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
"""

import csv
import io
from collections.abc import Iterator
from itertools import islice

from django.db.models import OuterRef, Subquery
from django.utils import timezone

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
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "row_type date_time channel number message_id type category direction status"
    " segments unit_price cost carrier_fee total wallet_change description"
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


def _message_rows(*, wallet: Wallet, filters: UsageFilters) -> Iterator[list]:
    tz = workspace_tz(wallet)
    rows = (
        usage_records(wallet=wallet, filters=filters)
        .order_by("occurred_at", "id")
        .values_list(
            "occurred_at",
            "channel__display_name",
            "phone_number__number",
            "message_id",
            "message_type",
            "category",
            "direction",
            "status",
            "segments",
            "unit_price",
            "cost",
            "carrier_fee",
            "total",
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for occurred_at, channel, number, message_id, mtype, category, direction, status, segments, *amounts in rows:
        unit_price, cost, carrier_fee, total = amounts
        # Only the text cells that come from outside are neutralised here; the labels
        # are ours and the rest are numbers (usage_csv_lines neutralises ledger rows whole).
        yield [
            "message",
            occurred_at.astimezone(tz).isoformat(),
            cell(channel),
            cell(number or ""),
            cell(message_id),
            LABELS[mtype],
            LABELS[category],
            LABELS[direction],
            LABELS[status],
            segments,
            unit_price,
            cost,
            carrier_fee,
            total,
            -total,
            "",
        ]


def _ledger_rows(*, wallet: Wallet, filters: UsageFilters) -> Iterator[list]:
    if filters.channel is not None:
        postings = number_fee_postings(wallet=wallet, filters=filters)
    else:
        start, end = filters.bounds(workspace_tz(wallet))
        postings = WalletTransaction.objects.filter(
            wallet=wallet, kind__in=OTHER_LEDGER_KINDS, created_at__gte=start, created_at__lt=end
        )
    charge = NumberFeeCharge.objects.filter(posting=OuterRef("pk"))
    rows = (
        postings.annotate(
            number=Subquery(charge.values("phone_number__number")[:1]),
            channel=Subquery(charge.values("phone_number__channel__display_name")[:1]),
        )
        .order_by("created_at", "id")
        .values_list("kind", "created_at", "channel", "number", "amount", "memo")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    tz = workspace_tz(wallet)
    for kind, created_at, channel, number, amount, memo in rows:
        is_fee = kind == WalletTransaction.Kind.NUMBER_FEE
        yield [
            kind,
            timezone.localtime(created_at, tz).isoformat(),
            channel or "",
            number or "",
            "",
            LABELS[kind],
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            -amount if is_fee else "",
            amount,
            memo,
        ]


def usage_csv_lines(*, wallet: Wallet, filters: UsageFilters) -> Iterator[str]:
    """The CSV, header first, in pieces of up to CHUNK_SIZE lines.

    A piece per chunk rather than a string per line: a million-line export spent a
    third of its time handing single lines through generators and the response.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    yield _take(buffer)  # at once: the browser starts the download before the first query
    messages = _message_rows(wallet=wallet, filters=filters)
    # The ledger query only starts once the last message row is written.
    ledger = ([cell(value) for value in row] for row in _ledger_rows(wallet=wallet, filters=filters))
    for rows in (messages, ledger):
        while chunk := list(islice(rows, CHUNK_SIZE)):
            writer.writerows(chunk)
            yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def usage_csv_filename(*, wallet: Wallet, filters: UsageFilters) -> str:
    channel = f"_channel-{filters.channel.pk}" if filters.channel is not None else ""
    return f"{wallet.workspace.slug}_{wallet.kind}-wallet_{filters.start}_to_{filters.end}{channel}.csv"
