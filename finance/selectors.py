"""Reads for the finance dashboard."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from finance import defaults
from finance.charts import month_chart
from finance.models import LedgerCheck
from payments.models import TopUp
from usage.models import NumberFeeCharge, PhoneNumber
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
    charts: list[dict]  # per wallet kind: {"kind", "label", "chart": MonthChart | None, "months"}
    unpaid_fees: dict  # {"count", "total", "href"}
    top_ups_at_stripe: list[dict]  # pending and failed: {"status", "label", "count", "total", "href"}
    links: dict[str, str]  # admin lists behind the other figures


def admin_list(model: str, **params: object) -> str:
    """The admin changelist of `app_model`, filtered: every dashboard figure links to its rows."""
    url = reverse(f"admin:{model}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def _month_starts(count: int, today: date) -> list[date]:
    months, month = [], today.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months[::-1]


def _by_month_and_kind(queryset: QuerySet, field: str, since: date) -> dict:
    rows = (
        queryset.filter(created_at__date__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "wallet__kind")
        .annotate(total=Sum(field))
    )
    return {(row["month"].date(), row["wallet__kind"]): row["total"] for row in rows}


def month_charts(*, months: int | None = None, today: date | None = None) -> list[dict]:
    """Top-ups (paid) against usage (message, carrier and number charges) per month and wallet
    kind, oldest month first, each bar linked to the admin rows it sums."""
    months = months or defaults.DASHBOARD_MONTHS
    today = today or timezone.localdate()
    starts = _month_starts(months, today)
    paid = TopUp.objects.filter(status=TopUp.Status.SUCCEEDED).order_by()
    top_ups = _by_month_and_kind(paid, "amount_paid", starts[0])
    usage = _by_month_and_kind(WalletTransaction.objects.filter(kind__in=USAGE_KINDS).order_by(), "amount", starts[0])
    charts = []
    for kind, label in Wallet.Kind.choices:
        rows = []
        for month in starts:
            period = {"created_at__year": month.year, "created_at__month": month.month}
            rows.append(
                {
                    "month": month,
                    "label": month.strftime("%b %Y"),
                    "top_ups": top_ups.get((month, kind), ZERO),
                    "usage": -usage.get((month, kind), ZERO),
                    "top_ups_href": admin_list(
                        "payments_topup", status__exact="succeeded", wallet__kind__exact=kind, **period
                    ),
                    "usage_href": admin_list(
                        "wallets_wallettransaction",
                        kind__in=",".join(USAGE_KINDS),
                        wallet__kind__exact=kind,
                        **period,
                    ),
                }
            )
        charts.append({"kind": kind, "label": label, "chart": month_chart(rows), "months": rows[::-1]})
    return charts


def _by_month(queryset: QuerySet, field: str) -> dict:
    rows = queryset.annotate(month=TruncMonth("created_at")).values("month").annotate(total=Sum(field))
    return {row["month"].date(): row["total"] for row in rows}


def dashboard_figures(*, months: int = 12) -> DashboardFigures:
    today = timezone.localdate()
    horizon = today + timedelta(days=defaults.RELEASE_HORIZON_DAYS)
    unpaid = NumberFeeCharge.objects.filter(status=NumberFeeCharge.Status.UNPAID).aggregate(
        count=Count("id"), total=Sum("amount")
    )
    failed_since = today - timedelta(days=defaults.FAILED_TOP_UP_DAYS)
    at_stripe = []
    for status, since in ((TopUp.Status.PENDING, None), (TopUp.Status.FAILED, failed_since)):
        rows = TopUp.objects.filter(status=status, **({"created_at__date__gte": since} if since else {}))
        totals = rows.aggregate(count=Count("id"), total=Sum("amount"))
        params = {"status__exact": status, **({"created_at__gte": since.isoformat()} if since else {})}
        at_stripe.append(
            {
                "status": status,
                "label": TopUp.Status(status).label,
                "count": totals["count"],
                "total": totals["total"] or ZERO,
                "href": admin_list("payments_topup", **params),
                "since": since,
            }
        )
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
        # The dashboard may be read from the replica (common.replica), which never gives a balance.
        failed_auto_top_ups=TopUp.objects.filter(kind=TopUp.Kind.AUTO, status=TopUp.Status.FAILED)
        .select_related("wallet__workspace")
        .defer("wallet__balance")
        .order_by("-id")[:20],
        numbers_to_release=PhoneNumber.objects.filter(
            status=PhoneNumber.Status.RELEASE_SCHEDULED, release_scheduled_for__lte=horizon
        )
        .select_related("channel__workspace")
        .order_by("release_scheduled_for", "number"),
        last_ledger_check=LedgerCheck.objects.order_by("-id").first(),
        charts=month_charts(today=today),
        unpaid_fees={
            "count": unpaid["count"],
            "total": unpaid["total"] or ZERO,
            "href": admin_list("usage_numberfeecharge", status__exact=NumberFeeCharge.Status.UNPAID),
        },
        top_ups_at_stripe=at_stripe,
        links={
            "held": admin_list("wallets_wallet", balance__gt=0),
            "owed": admin_list("wallets_wallet", balance__lt=0),
            "failed_auto": admin_list("payments_topup", status__exact="failed", kind__exact="auto"),
            "releases": admin_list(
                "usage_phonenumber", status__exact="release_scheduled", release_scheduled_for__lte=horizon.isoformat()
            ),
            "ledger_checks": admin_list("finance_ledgercheck"),
        },
    )
