"""Reads of usage.

For the platform API: which channel a reference names, may it send, what would a send cost.
For the wallet pages and the CSV export: filters, summaries, table, chart data, runway.

Summaries and the per-day chart read DailyUsageRollup (a few rows per day) so that
a one-year range costs the same as a one-day range; only the paginated table and
the CSV export read UsageRecord, through the (wallet, occurred_at) and
(channel, occurred_at) indexes. Every query is scoped by the wallet, so a channel
id from another workspace or of the other wallet kind can never select rows.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from usage import defaults
from usage.authz_cache import Route, route_cached, route_remember
from usage.events import FieldError, type_fits_channel
from usage.models import Channel, DailyUsageRollup, NumberFeeCharge, PhoneNumber, UsageRecord
from usage.pricing import PriceBook, Quote
from wallets.models import AutoTopUpRule, Wallet, WalletTransaction, Workspace
from wallets.money import ZERO
from wallets.selectors import WalletState, WalletStatus, wallet_status


class ChannelNotFound(FieldError):
    """Unknown, or another workspace's: the answer is the same, so nothing leaks."""

    def __init__(self) -> None:
        super().__init__("channel", "No such channel in this workspace.")


@dataclass(frozen=True)
class ChannelRef:
    channel: Channel
    number: PhoneNumber | None  # set when the platform named the channel by its number


def channels_resolve(*, workspace: Workspace, refs: Iterable[int | str]) -> dict[int | str, ChannelRef]:
    """Channel ids and E.164 numbers of this workspace only, in two queries; unknown refs are absent.

    A number is matched to the holder that has not released it; failing that, to this
    workspace's released number, so usage still in flight after a release is recorded.
    """
    refs = set(refs)
    ids = [ref for ref in refs if isinstance(ref, int)]
    numbers = [ref for ref in refs if isinstance(ref, str)]
    found: dict[int | str, ChannelRef] = {}
    if ids:
        for channel in Channel.objects.filter(workspace=workspace, pk__in=ids):
            found[channel.pk] = ChannelRef(channel, None)
    if numbers:
        held = PhoneNumber.objects.filter(channel__workspace=workspace, number__in=numbers).select_related("channel")
        for number in held.order_by("number", "released_at"):
            if number.number not in found or number.status != PhoneNumber.Status.RELEASED:
                found[number.number] = ChannelRef(number.channel, number)
    return found


def channel_resolve(*, workspace: Workspace, ref: int | str) -> ChannelRef:
    found = channels_resolve(workspace=workspace, refs=[ref]).get(ref)
    if found is None:
        raise ChannelNotFound
    return found


def wallet_for_channel(*, channel: Channel) -> Wallet:
    return Wallet.objects.get(workspace_id=channel.workspace_id, kind=channel.wallet_kind)


def _number_released(ref: ChannelRef) -> bool:
    """Named by a released number, or an SMS channel whose every number is released."""
    if ref.number is not None:
        return ref.number.status == PhoneNumber.Status.RELEASED
    if ref.channel.kind != Channel.Kind.SMS:
        return False
    statuses = set(PhoneNumber.objects.filter(channel=ref.channel).values_list("status", flat=True))
    return statuses == {PhoneNumber.Status.RELEASED}


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    reason: str | None
    balance: Decimal


def authorization_decide(*, kind: str, balance: Decimal, released: bool, direction: str) -> Authorization:
    """SMS wallet at or below zero: all SMS/MMS, both directions, stop. WhatsApp wallet below
    zero: sending pauses; receiving goes on (the customer's messages still arrive)."""
    if released:
        return Authorization(False, "number_released", balance)
    status = wallet_status(kind=kind, balance=balance)
    if status.state == WalletState.SUSPENDED:
        return Authorization(False, "sms_wallet_empty", balance)
    if status.state == WalletState.PAUSED and direction == UsageRecord.Direction.OUTBOUND:
        return Authorization(False, "whatsapp_balance_negative", balance)
    return Authorization(True, None, balance)


# --- authorization at API rates ------------------------------------------------------
#
# The balance is never cached: every answer reads it (one primary-key query), so the
# posting that empties a wallet blocks the very next authorization. What is cached
# (usage.authz_cache) is the route from a channel reference to its channel, wallet and
# release state, which otherwise costs three queries, under the workspace's numbers version.


def _route(*, workspace: Workspace, ref: int | str) -> Route:
    """The reference's route, from the cache while the workspace's numbers are unchanged."""
    version, route = route_cached(workspace_id=workspace.id, ref=ref)
    if route is not None:
        return route
    channel_ref = channel_resolve(workspace=workspace, ref=ref)
    wallet = wallet_for_channel(channel=channel_ref.channel)
    route = Route(
        channel_ref.channel.id, channel_ref.channel.kind, wallet.id, wallet.kind, _number_released(channel_ref)
    )
    route_remember(workspace_id=workspace.id, ref=ref, version=version, route=route)
    return route


def message_authorize_at_rate(
    *, workspace: Workspace, ref: int | str, direction: str, message_type: str
) -> Authorization:
    """May this channel send (or receive) a message now? Uses `wallet_status`, the one rule,
    for a channel reference in two cache reads and one query.

    Raises what resolving the channel raises (ChannelNotFound, a type that does not fit).
    """
    route = _route(workspace=workspace, ref=ref)
    type_fits_channel(message_type=message_type, channel=Channel(pk=route.channel_id, kind=route.channel_kind))
    balance = Wallet.objects.values_list("balance", flat=True).get(pk=route.wallet_id)
    return authorization_decide(kind=route.wallet_kind, balance=balance, released=route.released, direction=direction)


@dataclass(frozen=True)
class Estimate:
    quote: Quote
    recipients: int
    total: Decimal
    balance: Decimal

    @property
    def balance_after(self) -> Decimal:
        return self.balance - self.total

    @property
    def covered(self) -> bool:
        return self.balance_after >= ZERO


def send_estimate(
    *, ref: ChannelRef, message_type: str, category: str, direction: str, country: str, segments: int, recipients: int
) -> Estimate:
    """The cost of sending one message to `recipients` people now, and whether the balance covers it."""
    quote = PriceBook.load(countries=[country]).quote(
        at=timezone.now(),
        message_type=message_type,
        category=category,
        direction=direction,
        country=country,
        segments=segments,
    )
    wallet = wallet_for_channel(channel=ref.channel)
    return Estimate(quote=quote, recipients=recipients, total=quote.total * recipients, balance=wallet.balance)


@dataclass(frozen=True)
class WalletOverview:
    wallet: Wallet
    status: WalletStatus
    auto_top_up: AutoTopUpRule | None


def wallets_overview(*, workspace: Workspace) -> list[WalletOverview]:
    wallets = Wallet.objects.filter(workspace=workspace).select_related("auto_top_up").order_by("kind")
    return [
        WalletOverview(
            wallet=wallet,
            status=wallet_status(kind=wallet.kind, balance=wallet.balance),
            auto_top_up=getattr(wallet, "auto_top_up", None),
        )
        for wallet in wallets
    ]


DATE_FORMAT = "%Y-%m-%d"
# The dates a filter may name. Far outside them the range's bounds (a day after the end, the
# time zone's offset) leave what datetime and PostgreSQL can hold; no usage is that old or new.
FIRST_FILTER_DATE = date(2000, 1, 1)
LAST_FILTER_DATE = date(2099, 12, 31)

Kind = WalletTransaction.Kind
# Ledger rows that are not messages: the CSV lists each of them as a row of its own.
OTHER_LEDGER_KINDS = (Kind.NUMBER_FEE, Kind.TOP_UP, Kind.AUTO_TOP_UP, Kind.ADJUSTMENT, Kind.REFUND, Kind.DISPUTE)
# Ledger rows that are spending, averaged for the runway.
SPEND_KINDS = (Kind.MESSAGE_CHARGE, Kind.CARRIER_FEE, Kind.NUMBER_FEE)


def workspace_tz(wallet: Wallet) -> ZoneInfo:
    return ZoneInfo(wallet.workspace.timezone)


def wallet_channels(*, wallet: Wallet) -> QuerySet[Channel]:
    """The channels this wallet pays for: SMS channels for the SMS wallet, WhatsApp ones otherwise."""
    channels = Channel.objects.filter(workspace_id=wallet.workspace_id)
    if wallet.kind == Wallet.Kind.SMS:
        return channels.filter(kind=Channel.Kind.SMS)
    return channels.exclude(kind=Channel.Kind.SMS)


@dataclass
class UsageFilters:
    """A validated reading of the query string. `errors` says what was ignored and why."""

    start: date
    end: date  # inclusive, a local day in the workspace's time zone
    channel: Channel | None
    page: str = "1"
    errors: list[str] = field(default_factory=list)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start of first day, start of the day after the last) as aware datetimes."""
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    @property
    def default_days(self) -> int:
        """The length of the range a reset (or a bad range) shows: "Last 30 days"."""
        return defaults.USAGE_DEFAULT_RANGE_DAYS

    def query(self, *, page: int | None = None) -> dict[str, str]:
        """The query string of this (validated) view; shareable and bookmarkable."""
        params = {"start": self.start.strftime(DATE_FORMAT), "end": self.end.strftime(DATE_FORMAT)}
        if self.channel is not None:
            params["channel"] = str(self.channel.pk)
        if page is not None and page > 1:
            params["page"] = str(page)
        return params


def one_year_before(day: date) -> date:
    """Same date a year earlier (29 Feb becomes 28 Feb): the earliest start a range may have."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _parse_date(raw: str, name: str, errors: list[str]) -> date | None:
    try:
        day = datetime.strptime(raw.strip(), DATE_FORMAT).date()
    except ValueError:
        errors.append(f"“{raw[:40]}” is not a valid {name} date. Use the form YYYY-MM-DD.")
        return None
    if not FIRST_FILTER_DATE <= day <= LAST_FILTER_DATE:
        errors.append(
            f"The {name} date {day.isoformat()} is outside the dates this page covers "
            f"({FIRST_FILTER_DATE.isoformat()} to {LAST_FILTER_DATE.isoformat()})."
        )
        return None
    return day


def usage_filters_parse(*, wallet: Wallet, params: Mapping[str, str], today: date | None = None) -> UsageFilters:
    """Read start/end/channel/page from the query string; never raises.

    Bad input falls back to a safe default and leaves a message for the page:
    unparseable dates or an end before the start give the default range (the last
    USAGE_DEFAULT_RANGE_DAYS, today included, in the workspace's time zone); a range longer than a
    year keeps its end and starts one year earlier; a channel that is not one of
    this wallet's channels shows all channels.
    """
    tz = workspace_tz(wallet)
    today = today or timezone.localdate(timezone=tz)
    errors: list[str] = []
    default_days = defaults.USAGE_DEFAULT_RANGE_DAYS
    default_start = today - timedelta(days=default_days - 1)

    raw_start, raw_end = params.get("start", "").strip(), params.get("end", "").strip()
    start = _parse_date(raw_start, "start", errors) if raw_start else default_start
    end = _parse_date(raw_end, "end", errors) if raw_end else today
    if start is None or end is None:
        errors.append(f"Showing the last {default_days} days instead.")
        start, end = default_start, today
    elif end < start:
        errors.append(
            f"The end date ({end:%d %b %Y}) is before the start date ({start:%d %b %Y}). "
            f"Showing the last {default_days} days."
        )
        start, end = default_start, today
    elif start < one_year_before(end):
        start = one_year_before(end)
        errors.append(f"A date range can be at most one year. Showing {start:%d %b %Y} to {end:%d %b %Y}.")

    channel = None
    raw_channel = params.get("channel", "").strip()
    if raw_channel and raw_channel != "all":
        channel = wallet_channels(wallet=wallet).filter(pk=int(raw_channel)).first() if raw_channel.isdigit() else None
        if channel is None:
            errors.append("That channel is not one of this wallet's channels. Showing all channels.")

    return UsageFilters(start=start, end=end, channel=channel, page=params.get("page", "1"), errors=errors)


@dataclass(frozen=True)
class DaySpend:
    day: date
    messages: int
    segments: int
    message_cost: Decimal
    carrier_fees: Decimal
    number_fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.message_cost + self.carrier_fees + self.number_fees


@dataclass(frozen=True)
class UsageSummary:
    messages: int
    segments: int
    message_cost: Decimal
    carrier_fees: Decimal
    number_fees: Decimal
    days: list[DaySpend]  # every day of the range, oldest first, zero days included

    @property
    def total(self) -> Decimal:
        return self.message_cost + self.carrier_fees + self.number_fees

    @property
    def has_spend(self) -> bool:
        return self.total != ZERO or self.messages > 0


def _rollups(*, wallet: Wallet, filters: UsageFilters) -> QuerySet[DailyUsageRollup]:
    rollups = DailyUsageRollup.objects.filter(wallet=wallet, day__gte=filters.start, day__lte=filters.end)
    if filters.channel is not None:
        rollups = rollups.filter(channel=filters.channel)
    return rollups


def number_fee_postings(*, wallet: Wallet, filters: UsageFilters) -> QuerySet[WalletTransaction]:
    """The wallet's number-fee ledger rows in the range; with a channel, only that channel's numbers'."""
    start, end = filters.bounds(workspace_tz(wallet))
    postings = WalletTransaction.objects.filter(
        wallet=wallet, kind=Kind.NUMBER_FEE, created_at__gte=start, created_at__lt=end
    )
    if filters.channel is not None:
        charged = NumberFeeCharge.objects.filter(phone_number__channel=filters.channel, posting__isnull=False)
        postings = postings.filter(pk__in=charged.values("posting_id"))
    return postings


def usage_summary(*, wallet: Wallet, filters: UsageFilters) -> UsageSummary:
    """Totals and per-day spend of the range, in two queries whatever its length.

    Amounts are spend, so positive; a number fee refunded by an adjustment stays an
    adjustment in the ledger and is not netted here.
    """
    tz = workspace_tz(wallet)
    per_day = {
        row["day"]: row
        for row in _rollups(wallet=wallet, filters=filters)
        .values("day")
        .annotate(
            n_messages=Sum("messages"),
            n_segments=Sum("segments"),
            sum_cost=Sum("cost"),
            sum_carrier=Sum("carrier_fee"),
        )
        .order_by()
    }
    fees_per_day: dict[date, Decimal] = {}
    for created_at, amount in number_fee_postings(wallet=wallet, filters=filters).values_list("created_at", "amount"):
        local_day = timezone.localtime(created_at, tz).date()
        fees_per_day[local_day] = fees_per_day.get(local_day, ZERO) - amount

    days = []
    day = filters.start
    while day <= filters.end:
        row = per_day.get(day, {})
        days.append(
            DaySpend(
                day=day,
                messages=row.get("n_messages") or 0,
                segments=row.get("n_segments") or 0,
                message_cost=row.get("sum_cost") or ZERO,
                carrier_fees=row.get("sum_carrier") or ZERO,
                number_fees=fees_per_day.get(day, ZERO),
            )
        )
        day += timedelta(days=1)
    return UsageSummary(
        messages=sum(d.messages for d in days),
        segments=sum(d.segments for d in days),
        message_cost=sum((d.message_cost for d in days), ZERO),
        carrier_fees=sum((d.carrier_fees for d in days), ZERO),
        number_fees=sum((d.number_fees for d in days), ZERO),
        days=days,
    )


@dataclass(frozen=True)
class CategoryUsage:
    label: str
    messages: int
    message_cost: Decimal
    carrier_fees: Decimal
    total: Decimal


def usage_by_category(*, wallet: Wallet, filters: UsageFilters) -> list[CategoryUsage]:
    """WhatsApp conversations per category (SMS: per message type), largest spend first."""
    labels = dict(UsageRecord.Category.choices) | dict(UsageRecord.MessageType.choices)
    rows = (
        _rollups(wallet=wallet, filters=filters)
        .values("message_type", "category")
        .annotate(n=Sum("messages"), cost=Sum("cost"), carrier=Sum("carrier_fee"), total=Sum("total"))
        .order_by("-total", "message_type", "category")
    )
    return [
        CategoryUsage(
            label=labels[row["category"]] if row["category"] else labels[row["message_type"]],
            messages=row["n"],
            message_cost=row["cost"],
            carrier_fees=row["carrier"],
            total=row["total"],
        )
        for row in rows
    ]


def usage_records(*, wallet: Wallet, filters: UsageFilters) -> QuerySet[UsageRecord]:
    """Records of the range, newest first (served by the wallet/channel + occurred_at indexes)."""
    start, end = filters.bounds(workspace_tz(wallet))
    records = UsageRecord.objects.filter(wallet=wallet, occurred_at__gte=start, occurred_at__lt=end)
    if filters.channel is not None:
        records = records.filter(channel=filters.channel)
    return records.order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class UsageTable:
    page: Page
    error: str | None


def usage_table(*, wallet: Wallet, filters: UsageFilters, record_count: int) -> UsageTable:
    """One page of records. `record_count` comes from the rollups (the summary's message
    count), which saves a COUNT over up to a year of records on every page view."""
    records = usage_records(wallet=wallet, filters=filters).select_related("channel", "phone_number")
    paginator = Paginator(records, defaults.USAGE_TABLE_PAGE_SIZE)
    paginator.count = record_count  # cached_property: set, so Django never runs COUNT(*)
    try:
        number = int(filters.page)
    except ValueError:
        return UsageTable(paginator.page(1), f"“{filters.page[:20]}” is not a page number. Showing page 1.")
    if number < 1 or number > paginator.num_pages:
        last = paginator.num_pages
        return UsageTable(paginator.page(last), f"There is no page {number}; the last page is {last}. Showing it.")
    return UsageTable(paginator.page(number), None)


@dataclass(frozen=True)
class Runway:
    daily_average: Decimal
    days_left: int
    window_days: int  # the days whose spend was averaged


def wallet_runway(*, wallet: Wallet, now: datetime | None = None) -> Runway | None:
    """About how many days the balance lasts at the average spend of the last USAGE_RUNWAY_WINDOW_DAYS.

    None when there was no spend to average or the balance is already used up.
    """
    now = now or timezone.now()
    window_days = defaults.USAGE_RUNWAY_WINDOW_DAYS
    spent = WalletTransaction.objects.filter(
        wallet=wallet,
        kind__in=SPEND_KINDS,
        amount__lt=0,
        created_at__gt=now - timedelta(days=window_days),
        created_at__lte=now,
    ).aggregate(spent=Sum("amount"))["spent"]
    if not spent or wallet.balance <= ZERO:
        return None
    daily_average = -spent / window_days
    return Runway(daily_average=daily_average, days_left=int(wallet.balance / daily_average), window_days=window_days)


@dataclass(frozen=True)
class WalletTotals:
    all_time_usage: Decimal
    all_time_top_up: Decimal


def wallet_totals(*, wallet: Wallet) -> WalletTotals:
    """All-time usage (messages and carrier fees) and all-time credit bought, from the ledger."""
    sums = WalletTransaction.objects.filter(wallet=wallet).aggregate(
        usage=Sum("amount", filter=Q(kind__in=[Kind.MESSAGE_CHARGE, Kind.CARRIER_FEE])),
        top_up=Sum("amount", filter=Q(kind__in=[Kind.TOP_UP, Kind.AUTO_TOP_UP])),
    )
    return WalletTotals(all_time_usage=-(sums["usage"] or ZERO), all_time_top_up=sums["top_up"] or ZERO)
