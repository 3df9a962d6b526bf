"""Reads about number fees: billing dates, unpaid periods, the release countdown."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from usage.models import Channel, NumberFeeCharge, PhoneNumber
from wallets.models import Workspace
from wallets.money import ZERO

HELD_STATUSES = (PhoneNumber.Status.ACTIVE, PhoneNumber.Status.RELEASE_SCHEDULED)


def anniversary(anchor: date, months: int) -> date:
    """`anchor` moved `months` months on, keeping the anchor's day of month where the
    month has it and clamping to the month's last day where not: 31 Jan -> 28/29 Feb
    -> 31 Mar (always counted from the anchor, never from the previous billing date)."""
    month_index = anchor.month - 1 + months
    year, month = anchor.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def zone_date(moment: datetime, tz: str) -> date:
    """The calendar day of `moment` in the time zone named `tz`."""
    return moment.astimezone(ZoneInfo(tz)).date()


def local_today(*, workspace: Workspace, now: datetime) -> date:
    return zone_date(now, workspace.timezone)


def billing_anchor(phone_number: PhoneNumber) -> date:
    """The purchase date in the workspace's time zone: the first billing date."""
    return zone_date(phone_number.purchased_at, phone_number.channel.workspace.timezone)


def period_index(*, anchor: date, today: date) -> int:
    """How many anniversaries after the purchase have come by `today` (0 before the first)."""
    months = (today.year - anchor.year) * 12 + today.month - anchor.month
    return months if anniversary(anchor, months) <= today else months - 1


def number_next_billing_date(*, phone_number: PhoneNumber, today: date) -> date:
    anchor = billing_anchor(phone_number)
    return anniversary(anchor, max(period_index(anchor=anchor, today=today), 0) + 1)


def number_unpaid_count(*, phone_number: PhoneNumber) -> int:
    return phone_number.fee_charges.filter(status=NumberFeeCharge.Status.UNPAID).count()


def release_starts_at(*, release_day: date, workspace: Workspace) -> datetime:
    """The moment the release day begins in the workspace's time zone (what the countdown counts to)."""
    return datetime.combine(release_day, time.min, tzinfo=ZoneInfo(workspace.timezone))


@dataclass(frozen=True)
class NumberBillingRow:
    number: PhoneNumber
    next_billing_date: date | None
    unpaid_periods: int
    unpaid_amount: Decimal
    written_off_periods: int
    release_date: date | None
    release_at: datetime | None
    days_left: int | None


def number_billing_rows(*, workspace: Workspace, now: datetime) -> list[NumberBillingRow]:
    """Every SMS number of the workspace with its billing state, for the SMS wallet page."""
    today = local_today(workspace=workspace, now=now)
    unpaid = Q(fee_charges__status=NumberFeeCharge.Status.UNPAID)
    numbers = (
        PhoneNumber.objects.filter(channel__workspace=workspace, channel__kind=Channel.Kind.SMS)
        .select_related("channel__workspace")
        .annotate(
            unpaid_periods=Count("fee_charges", filter=unpaid),
            unpaid_amount=Sum("fee_charges__amount", filter=unpaid),
            written_off_periods=Count("fee_charges", filter=Q(fee_charges__status=NumberFeeCharge.Status.WRITTEN_OFF)),
        )
        .order_by("status", "number")
    )
    rows = []
    for number in numbers:
        release_date = number.release_scheduled_for if number.status != PhoneNumber.Status.RELEASED else None
        rows.append(
            NumberBillingRow(
                number=number,
                next_billing_date=(
                    number_next_billing_date(phone_number=number, today=today)
                    if number.status == PhoneNumber.Status.ACTIVE
                    else None
                ),
                unpaid_periods=number.unpaid_periods,
                unpaid_amount=number.unpaid_amount or ZERO,
                written_off_periods=number.written_off_periods,
                release_date=release_date,
                release_at=release_starts_at(release_day=release_date, workspace=workspace) if release_date else None,
                days_left=max((release_date - today).days, 0) if release_date else None,
            )
        )
    return rows
