"""Reads for the finance dashboard."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from finance.models import LedgerCheck
from payments.models import TopUp
from usage.models import PhoneNumber
from wallets.models import Wallet, WalletTransaction
from wallets.money import ZERO

USAGE_KINDS = [
    WalletTransaction.Kind.MESSAGE_CHARGE,
    WalletTransaction.Kind.CARRIER_FEE,
    WalletTransaction.Kind.NUMBER_FEE,
]


@dataclass(frozen=True)
class DashboardFigures:
    balances_held: Decimal  # positive balances: money we owe customers (a liability)
    balances_owed: Decimal  # negative balances: what customers owe us, as a positive figure
    months: list[dict]  # {"month", "top_ups", "usage"}, newest first
    failed_auto_top_ups: QuerySet[TopUp]
    numbers_to_release: QuerySet[PhoneNumber]
    last_ledger_check: LedgerCheck | None


def _by_month(queryset: QuerySet, field: str) -> dict:
    rows = queryset.annotate(month=TruncMonth("created_at")).values("month").annotate(total=Sum(field))
    return {row["month"].date(): row["total"] for row in rows}


def dashboard_figures(*, months: int = 12) -> DashboardFigures:
    balances = Wallet.objects.aggregate(
        held=Sum("balance", filter=Q(balance__gt=0)), owed=Sum("balance", filter=Q(balance__lt=0))
    )
    top_ups = _by_month(TopUp.objects.filter(status=TopUp.Status.SUCCEEDED).order_by(), "amount_paid")
    usage = _by_month(WalletTransaction.objects.filter(kind__in=USAGE_KINDS).order_by(), "amount")
    month_rows = [
        {"month": month, "top_ups": top_ups.get(month, ZERO), "usage": -usage.get(month, ZERO)}
        for month in sorted({*top_ups, *usage}, reverse=True)[:months]
    ]
    return DashboardFigures(
        balances_held=balances["held"] or ZERO,
        balances_owed=-(balances["owed"] or ZERO),
        months=month_rows,
        failed_auto_top_ups=TopUp.objects.filter(kind=TopUp.Kind.AUTO, status=TopUp.Status.FAILED)
        .select_related("wallet__workspace")
        .order_by("-id")[:20],
        numbers_to_release=PhoneNumber.objects.filter(status=PhoneNumber.Status.RELEASE_SCHEDULED)
        .select_related("channel__workspace")
        .order_by("release_scheduled_for", "number"),
        last_ledger_check=LedgerCheck.objects.order_by("-id").first(),
    )
