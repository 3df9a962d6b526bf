"""Monthly wallet statements: opening balance, each kind of posting in the month, closing
balance. Months are the workspace's calendar months (its time zone), as the pages show them.
The closing balance is opening + the month's lines, which is the ledger's running balance
after the month's last posting."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.http import HttpResponse

from wallets.models import Wallet, WalletTransaction
from wallets.money import ZERO, format_exact, format_usd
from wallets.pdf import Document, Table, document_pdf, pdf_response

Kind = WalletTransaction.Kind
# Statement lines, in the order a reader expects: money in, then what it paid for.
LINES = [
    (Kind.TOP_UP, "Top-ups"),
    (Kind.AUTO_TOP_UP, "Auto top-ups"),
    (Kind.MESSAGE_CHARGE, "Message charges"),
    (Kind.CARRIER_FEE, "Carrier fees"),
    (Kind.NUMBER_FEE, "Number fees"),
    (Kind.ADJUSTMENT, "Adjustments"),
    (Kind.REFUND, "Refunds"),
]


@dataclass(frozen=True)
class StatementLine:
    kind: str
    label: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class Statement:
    wallet: Wallet
    month: date  # first day
    start: datetime
    end: datetime
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal  # opening + the lines
    # The ledger's own running balance after the month's last posting: equals `closing`
    # (verify_ledger proves the chain; the statement tests prove the arithmetic).
    ledger_balance: Decimal

    @property
    def label(self) -> str:
        return self.month.strftime("%B %Y")

    def filename(self, extension: str) -> str:
        return f"statement-{self.wallet.workspace.slug}-{self.wallet.kind}-{self.month:%Y-%m}.{extension}"


class StatementError(ValueError):
    """The month asked for is not a month this wallet can have a statement for."""


def _month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return datetime(month.year, month.month, 1, tzinfo=zone), datetime(following.year, following.month, 1, tzinfo=zone)


def statement_month_parse(raw: str) -> date:
    """ "2026-11" to the first of that month; anything else is refused with a message."""
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise StatementError(f"{raw!r} is not a month in the form YYYY-MM.") from exc


def statement_months(*, wallet: Wallet, limit: int = 12) -> list[date]:
    """The months with postings, newest first: the statements worth offering."""
    zone = ZoneInfo(wallet.workspace.timezone)
    first = wallet.transactions.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return []
    first_month = first.astimezone(zone).date().replace(day=1)
    month = datetime.now(zone).date().replace(day=1)
    months = []
    while month >= first_month and len(months) < limit:
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months


def wallet_statement(*, wallet: Wallet, month: date) -> Statement:
    zone = ZoneInfo(wallet.workspace.timezone)
    start, end = _month_bounds(month, zone)
    ledger = WalletTransaction.objects.filter(wallet=wallet).order_by()
    opening = ledger.filter(created_at__lt=start).aggregate(total=Sum("amount"))["total"] or ZERO
    in_month = {
        row["kind"]: row
        for row in ledger.filter(created_at__gte=start, created_at__lt=end)
        .values("kind")
        .annotate(total=Sum("amount"), count=Count("id"))
    }
    lines = [
        StatementLine(kind=kind, label=label, count=in_month[kind]["count"], total=in_month[kind]["total"])
        for kind, label in LINES
        if kind in in_month
    ]
    closing = opening + sum((line.total for line in lines), ZERO)
    last = ledger.filter(created_at__lt=end).order_by("-created_at", "-id").values_list("balance_after", flat=True)
    return Statement(
        wallet=wallet,
        month=month,
        start=start,
        end=end,
        opening=opening,
        lines=lines,
        closing=closing,
        ledger_balance=last.first() if last.exists() else ZERO,
    )


def statement_csv(statement: Statement) -> str:
    """Full precision, one line per kind, for a spreadsheet or the accounts system."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["workspace", "wallet", "month", "line", "postings", "amount_usd"])
    head = [statement.wallet.workspace.name, statement.wallet.kind, f"{statement.month:%Y-%m}"]
    writer.writerow([*head, "Opening balance", "", format_exact(statement.opening).replace(",", "")])
    for line in statement.lines:
        writer.writerow([*head, line.label, line.count, format_exact(line.total).replace(",", "")])
    writer.writerow([*head, "Closing balance", "", format_exact(statement.closing).replace(",", "")])
    return out.getvalue()


def statement_pdf(statement: Statement) -> bytes:
    last_day = (statement.end.date() - date.resolution).strftime("%-d %b %Y")
    rows = [["Opening balance", "", format_usd(statement.opening)]]
    rows += [[line.label, str(line.count), format_usd(line.total)] for line in statement.lines]
    rows.append(["Closing balance", "", format_usd(statement.closing)])
    return document_pdf(
        Document(
            title=f"Statement, {statement.label}",
            subtitle=f"{statement.wallet.workspace.name}, {statement.wallet.get_kind_display()} wallet",
            facts=[
                ("Workspace", statement.wallet.workspace.name),
                ("Wallet", f"{statement.wallet.get_kind_display()} wallet (USD)"),
                ("Period", f"{statement.start:%-d %b %Y} to {last_day} ({statement.wallet.workspace.timezone})"),
                ("Opening balance", format_usd(statement.opening)),
                ("Closing balance", format_usd(statement.closing)),
            ],
            tables=[
                Table(
                    headings=["Line", "Postings", "Amount"],
                    rows=rows,
                    widths=[110, 30, 40],
                    numeric=[1, 2],
                    bold_rows=[0, len(rows) - 1],
                )
            ],
            footer="Amounts are rounded to the cent here; the CSV statement and the ledger keep 6 decimal places. "
            "Charges are negative. Closing balance = opening balance + the lines above.",
        )
    )


def statement_response(statement: Statement, fmt: str) -> HttpResponse:
    """The download, for the wallet page and the admin alike; fmt is "pdf" or "csv"."""
    if fmt == "pdf":
        return pdf_response(statement_pdf(statement), statement.filename("pdf"))
    response = HttpResponse(statement_csv(statement), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{statement.filename("csv")}"'
    return response
