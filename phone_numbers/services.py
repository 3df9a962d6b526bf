"""Monthly phone-number fees and automatic release: the writes.

A number bills on its purchase anniversary in the workspace's time zone (the
first fee at purchase). A period the SMS balance covers is posted as a
number_fee; one it does not is recorded unpaid and nothing is posted.
UNPAID_CYCLES_BEFORE_RELEASE unpaid periods (two; phone_numbers.defaults) schedule the
release for the day before the next billing date; on that day the number is released
and its unpaid periods are written off. A credit to the SMS wallet pays unpaid periods
oldest first and cancels a scheduled release once fewer than that are unpaid.

Locks are always taken number row first, then the wallet row (inside
ledger_post), so billing, settling and purchasing never deadlock one another.
The plain case (an active number, a balance that covers the fee) is billed in
transactions of many workspaces; anything else is its own transaction per period.
The unique (number, period_start) key and the ledger idempotency key make every
step safe to repeat or to run in two workers.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import EventType
from alerts.services import number_event_record
from phone_numbers import defaults
from phone_numbers.selectors import (
    HELD_STATUSES,
    anniversary,
    billing_anchor,
    local_today,
    number_unpaid_count,
    period_index,
    zone_date,
)
from usage.models import E164_VALIDATOR, Channel, NumberFeeCharge, PhoneNumber
from usage.pricing import NoPrice, NoPriceList, number_monthly_fee
from wallets.exceptions import InsufficientBalance
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import ZERO, format_usd
from wallets.services import PostingRequest, ledger_post, ledger_post_many

Status = PhoneNumber.Status
FeeStatus = NumberFeeCharge.Status


class NumberPurchaseRefused(Exception):
    """A purchase that must not happen; the message is shown to the admin as is."""


@dataclass(frozen=True)
class NumberBillingEvent:
    """One thing billing did (or, in a dry run, would do), for logs and the command's output."""

    number: str
    on: date
    action: str  # charged, unpaid, release_scheduled, released, paid_late, release_cancelled
    amount: Decimal | None = None
    detail: str = ""

    def __str__(self) -> str:
        amount = f" {format_usd(self.amount)}" if self.amount is not None else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.on.isoformat()} {self.number} {self.action}{amount}{detail}"


def _fee_key(*, number_id: int, period_start: date) -> str:
    return f"number-fee:{number_id}:{period_start.isoformat()}"


def _sms_wallet_id(*, workspace_id: int) -> int:
    return Wallet.objects.values_list("id", flat=True).get(workspace_id=workspace_id, kind=Wallet.Kind.SMS)


def _fee_request(
    *, number_id: int, number: str, fee: Decimal, period_start: date, reference_kind: str
) -> PostingRequest:
    return PostingRequest(
        kind=WalletTransaction.Kind.NUMBER_FEE,
        amount=-fee,
        idempotency_key=_fee_key(number_id=number_id, period_start=period_start),
        reference=f"number:{number_id}:{period_start.isoformat()}",
        memo=f"Monthly fee for {number} ({reference_kind})",
    )


def _fee_post(
    *, number: PhoneNumber, period_start: date, reference_kind: str, created_by: AbstractBaseUser | None = None
) -> WalletTransaction:
    """Post one period's fee; raises InsufficientBalance (and posts nothing) if the balance can't cover it."""
    request = _fee_request(
        number_id=number.id,
        number=number.number,
        fee=number.monthly_fee,
        period_start=period_start,
        reference_kind=reference_kind,
    )
    return ledger_post(
        wallet_id=_sms_wallet_id(workspace_id=number.channel.workspace_id),
        **vars(replace(request, created_by=created_by)),
        require_funds=True,
    ).transaction


def _locked_number(number_id: int) -> PhoneNumber:
    # FOR NO KEY UPDATE, not FOR UPDATE: ingest inserts usage records referencing the number
    # while it holds the wallet lock, and that insert takes FOR KEY SHARE on the number row.
    # A full FOR UPDATE here would block it, and billing then waits for the wallet: deadlock
    # (found by tests/ops/test_multiprocess.py and tests/reliability). NO KEY UPDATE still serialises billing runs.
    return (
        PhoneNumber.objects.select_for_update(of=("self",), no_key=True)
        .select_related("channel__workspace")
        .get(pk=number_id)
    )


# --- purchase -------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberPurchaseQuote:
    """What buying a number will cost, shown to the admin before they confirm."""

    channel: Channel
    number: str
    country: str
    fee: Decimal
    balance: Decimal

    @property
    def balance_after(self) -> Decimal:
        return self.balance - self.fee


# Whoever holds a number (this workspace or another) is not told: the answer reads the same
# as for a number nobody can sell, so the form cannot be used to learn who has which number.
NUMBER_NOT_AVAILABLE = "{number} is not available. Choose another number."


def _short_balance_message(*, balance: Decimal, fee: Decimal) -> str:
    return (
        f"Your SMS balance ({format_usd(balance)}) does not cover the first monthly fee of "
        f"{format_usd(fee)}. Top up the SMS wallet, then buy the number."
    )


def phone_number_purchase_quote(
    *, workspace: Workspace, channel_id: int, number: str, country: str, now: datetime | None = None
) -> NumberPurchaseQuote:
    """Check a purchase and price it (first fee charged now), or refuse it with a message for the admin."""
    now = now or timezone.now()
    number = number.strip()
    country = country.strip().upper()
    try:
        E164_VALIDATOR(number)
    except ValidationError as exc:
        raise NumberPurchaseRefused(exc.messages[0]) from exc
    if len(country) != 2 or not country.isalpha():
        raise NumberPurchaseRefused("Enter the country as a two-letter ISO code, e.g. US.")
    channel = Channel.objects.filter(pk=channel_id, workspace=workspace, kind=Channel.Kind.SMS).first()
    if channel is None:
        raise NumberPurchaseRefused("Choose one of this workspace's SMS channels.")
    if PhoneNumber.objects.filter(number=number).exclude(status=Status.RELEASED).exists():
        raise NumberPurchaseRefused(NUMBER_NOT_AVAILABLE.format(number=number))
    try:
        fee = number_monthly_fee(country=country, at=now)
    except (NoPrice, NoPriceList) as exc:
        raise NumberPurchaseRefused(f"Numbers in {country} are not for sale: there is no price for them.") from exc
    if fee <= ZERO:
        raise NumberPurchaseRefused("This number has no monthly fee configured; ask finance to price it first.")
    balance = Wallet.objects.get(workspace=workspace, kind=Wallet.Kind.SMS).balance
    if balance < fee:
        raise NumberPurchaseRefused(_short_balance_message(balance=balance, fee=fee))
    return NumberPurchaseQuote(channel=channel, number=number, country=country, fee=fee, balance=balance)


def phone_number_purchase(
    *,
    workspace: Workspace,
    channel_id: int,
    number: str,
    country: str,
    created_by: AbstractBaseUser | None = None,
    expected_fee: Decimal | None = None,
    now: datetime | None = None,
) -> PhoneNumber:
    """Buy a number for an SMS channel and charge its first monthly fee, or refuse and write nothing.

    `expected_fee` is the fee the admin was shown; if the price changed since, the
    purchase is refused so nobody pays a fee they did not see.
    """
    now = now or timezone.now()
    quote = phone_number_purchase_quote(
        workspace=workspace, channel_id=channel_id, number=number, country=country, now=now
    )
    fee = quote.fee
    if expected_fee is not None and fee != expected_fee:
        raise NumberPurchaseRefused(
            f"The monthly fee changed to {format_usd(fee)} since it was shown. Review it and confirm again."
        )

    try:
        with transaction.atomic():
            phone = PhoneNumber.objects.create(
                channel=quote.channel, number=quote.number, country=quote.country, monthly_fee=fee, purchased_at=now
            )
            period_start = billing_anchor(phone)
            try:
                posting = _fee_post(
                    number=phone, period_start=period_start, reference_kind="first month", created_by=created_by
                )
            except InsufficientBalance as exc:  # spent by something else since the quote
                balance = Wallet.objects.get(workspace=workspace, kind=Wallet.Kind.SMS).balance
                raise NumberPurchaseRefused(_short_balance_message(balance=balance, fee=fee)) from exc
            NumberFeeCharge.objects.create(
                phone_number=phone,
                period_start=period_start,
                period_end=anniversary(period_start, 1) - timedelta(days=1),
                amount=fee,
                status=FeeStatus.CHARGED,
                posting=posting,
                settled_at=now,
            )
    except IntegrityError as exc:  # bought by someone else since the quote
        raise NumberPurchaseRefused(NUMBER_NOT_AVAILABLE.format(number=quote.number)) from exc
    return phone


# --- periodic billing -----------------------------------------------------------------


def _release(*, number: PhoneNumber, now: datetime) -> NumberBillingEvent:
    """Release a locked number: no more fees, its unpaid periods written off."""
    written_off = number.fee_charges.filter(status=FeeStatus.UNPAID).update(
        status=FeeStatus.WRITTEN_OFF, settled_at=now
    )
    number.status = Status.RELEASED
    number.released_at = now
    number.save(update_fields=["status", "released_at"])
    number_event_record(
        number=number,
        type=EventType.NUMBER_RELEASED,
        key="",
        release_on=number.release_scheduled_for,
        written_off=written_off,
    )
    return NumberBillingEvent(
        number.number, number.release_scheduled_for, "released", detail=f"{written_off} written off"
    )


def _period_bill(*, number_id: int, index: int, now: datetime) -> list[NumberBillingEvent]:
    """Bill period `index` (1 = first anniversary) of one number, once."""
    with transaction.atomic():
        number = _locked_number(number_id)
        anchor = billing_anchor(number)
        period_start = anniversary(anchor, index)
        if number.status == Status.RELEASED:
            return []
        if number.release_scheduled_for is not None and number.release_scheduled_for < period_start:
            return [_release(number=number, now=now)]
        if number.fee_charges.filter(period_start=period_start).exists():
            return []
        period_end = _period_end(anchor, index)
        try:
            posting = _fee_post(number=number, period_start=period_start, reference_kind="monthly")
        except InsufficientBalance:
            posting = None
        NumberFeeCharge.objects.create(
            phone_number=number,
            period_start=period_start,
            period_end=period_end,
            amount=number.monthly_fee,
            status=FeeStatus.CHARGED if posting else FeeStatus.UNPAID,
            posting=posting,
            settled_at=now if posting else None,
        )
        if posting:
            return [NumberBillingEvent(number.number, period_start, "charged", number.monthly_fee)]
        unpaid = NumberBillingEvent(number.number, period_start, "unpaid", number.monthly_fee)
        return [unpaid, *_after_unpaid(number=number, anchor=anchor, index=index)]


def _after_unpaid(*, number: PhoneNumber, anchor: date, index: int) -> list[NumberBillingEvent]:
    """Warn at each unpaid period before the last one allowed; schedule the release at that one."""
    unpaid = number_unpaid_count(phone_number=number)
    cycles = defaults.UNPAID_CYCLES_BEFORE_RELEASE
    if unpaid >= cycles and number.status == Status.ACTIVE:
        number.status = Status.RELEASE_SCHEDULED
        number.release_scheduled_for = _period_end(anchor, index)
        number.save(update_fields=["status", "release_scheduled_for"])
        number_event_record(
            number=number,
            type=EventType.NUMBER_RELEASE_SCHEDULED,
            key=number.release_scheduled_for,
            release_on=number.release_scheduled_for,
            unpaid_periods=unpaid,
        )
        return [NumberBillingEvent(number.number, number.release_scheduled_for, "release_scheduled")]
    if unpaid < cycles:
        # The release would be scheduled at the last unpaid period allowed, for the day before the one after it.
        would_release = _period_end(anchor, index + cycles - unpaid)
        number_event_record(
            number=number, type=EventType.NUMBER_FEE_UNPAID, key=anniversary(anchor, index), release_on=would_release
        )
    return []


def _period_end(anchor: date, index: int) -> date:
    return anniversary(anchor, index + 1) - timedelta(days=1)


Due = tuple[date, int, int]  # (period_start, number_id, index), sorted oldest first


@dataclass(frozen=True)
class _HeldNumber:
    """A held number as the fee run reads it: plain values, not a model instance with its
    channel and workspace (a run reads 100,000 of them, and instances cost 8x the time)."""

    id: int
    number: str
    anchor: date  # billing_anchor(): the purchase day in the workspace's time zone


@dataclass(frozen=True)
class _WorkspaceWork:
    """What one workspace needs from a run: unpaid periods to settle, periods that fell due."""

    wallet_id: int
    due: list[Due]
    settle: bool


def _due_periods(*, numbers: list[_HeldNumber], billed: set, today: date) -> list[Due]:
    """Every unbilled period of the numbers up to `today`, oldest first across numbers,
    so that after a gap the balance is spent in the order the periods fell due."""
    due: list[Due] = []
    for number in numbers:
        for index in range(1, period_index(anchor=number.anchor, today=today) + 1):
            period_start = anniversary(number.anchor, index)
            if (number.id, period_start) not in billed:
                due.append((period_start, number.id, index))
    return sorted(due)


def _batch_bill(
    *, due_by_wallet: dict[int, list[Due]], held: dict[int, _HeldNumber], now: datetime
) -> tuple[dict, dict]:
    """Charge, for each wallet, the longest run of its due periods, oldest first, that needs
    nothing but a posting; return the events by wallet and the periods left by wallet.

    One transaction for many workspaces: their numbers locked in id order, FOR NO KEY
    UPDATE as in `_locked_number`, then the wallets one by one in id order (inside
    ledger_post_many, one call per wallet), so two runs never wait on each other in a
    cycle. What billing depends on and others change (status, scheduled release, fee,
    billed periods) is re-read under the number locks; the charges of every wallet are
    inserted together. A wallet's run stops at the first period that needs more than a
    charge (its number is no longer plainly active, or it was billed meanwhile, or the
    balance runs out); those left are for `_period_bill` to handle one by one, in the
    same order, exactly as before.
    """
    charged_by_wallet: dict[int, list[NumberBillingEvent]] = {}
    rest_by_wallet: dict[int, list[Due]] = {}
    with transaction.atomic():
        ids = sorted({number_id for due in due_by_wallet.values() for _, number_id, _ in due})
        locked = {
            number_id: (status, release_scheduled_for, fee)
            for number_id, status, release_scheduled_for, fee in PhoneNumber.objects.select_for_update(no_key=True)
            .filter(pk__in=ids)
            .order_by("id")
            .values_list("id", "status", "release_scheduled_for", "monthly_fee")
        }
        billed = set(
            NumberFeeCharge.objects.filter(phone_number_id__in=ids).values_list("phone_number_id", "period_start")
        )
        charges: list[NumberFeeCharge] = []
        for wallet_id, due in sorted(due_by_wallet.items()):
            plan: list[tuple[_HeldNumber, Decimal, date, int]] = []
            for period_start, number_id, index in due:
                status, release_scheduled_for, fee = locked[number_id]
                if status != Status.ACTIVE or release_scheduled_for or (number_id, period_start) in billed:
                    break
                plan.append((held[number_id], fee, period_start, index))
            requests = [
                _fee_request(
                    number_id=number.id,
                    number=number.number,
                    fee=fee,
                    period_start=period_start,
                    reference_kind="monthly",
                )
                for number, fee, period_start, _ in plan
            ]
            postings = ledger_post_many(wallet_id=wallet_id, requests=requests, require_funds=True) if plan else []
            charged = list(zip(plan, postings, strict=False))
            charges += [
                NumberFeeCharge(
                    phone_number_id=number.id,
                    period_start=period_start,
                    period_end=_period_end(number.anchor, index),
                    amount=fee,
                    status=FeeStatus.CHARGED,
                    posting_id=posting.transaction.id,
                    settled_at=now,
                )
                for (number, fee, period_start, index), posting in charged
            ]
            charged_by_wallet[wallet_id] = [
                NumberBillingEvent(number.number, period_start, "charged", fee)
                for (number, fee, period_start, _), _ in charged
            ]
            rest_by_wallet[wallet_id] = due[len(charged) :]
        NumberFeeCharge.objects.bulk_create(charges)
    return charged_by_wallet, rest_by_wallet


def _chunks(work: list[_WorkspaceWork]) -> list[list[_WorkspaceWork]]:
    chunks: list[list[_WorkspaceWork]] = []
    chunk_size = defaults.FEE_RUN_CHUNK  # due periods per transaction
    size = chunk_size
    for item in work:
        if size >= chunk_size:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item.due) or 1
    return chunks


def _chunk_bill(
    *, chunk: list[_WorkspaceWork], held: dict[int, _HeldNumber], now: datetime
) -> list[NumberBillingEvent]:
    """Bill a chunk of workspaces: each first pays its unpaid periods (oldest first), then
    its due periods are charged together with the chunk's, then what is left one by one.
    Events come out workspace by workspace, in the order they happened for each."""
    settled = {item.wallet_id: number_fees_settle(wallet_id=item.wallet_id, now=now) for item in chunk if item.settle}
    due_by_wallet = {item.wallet_id: item.due for item in chunk if item.due}
    charged, rest = _batch_bill(due_by_wallet=due_by_wallet, held=held, now=now) if due_by_wallet else ({}, {})
    events: list[NumberBillingEvent] = []
    for item in chunk:
        events += settled.get(item.wallet_id, []) + charged.get(item.wallet_id, [])
        for _period_start, number_id, index in rest.get(item.wallet_id, []):
            events += _period_bill(number_id=number_id, index=index, now=now)
    return events


def _all_bill(*, now: datetime, on: date | None) -> list[NumberBillingEvent]:
    """Read what every workspace holds in a few queries, bill the workspaces in chunks, then
    release what is due."""
    held_rows = (
        PhoneNumber.objects.filter(channel__kind=Channel.Kind.SMS, status__in=HELD_STATUSES, monthly_fee__gt=0)
        .order_by("id")
        .values_list("id", "number", "purchased_at", "channel__workspace_id", "channel__workspace__timezone")
    )
    held: dict[int, _HeldNumber] = {}
    by_workspace: dict[int, list[_HeldNumber]] = defaultdict(list)
    zones: dict[int, str] = {}
    for number_id, number, purchased_at, workspace_id, tz in held_rows:
        held[number_id] = _HeldNumber(number_id, number, zone_date(purchased_at, tz))
        by_workspace[workspace_id].append(held[number_id])
        zones[workspace_id] = tz
    billed = set(
        NumberFeeCharge.objects.filter(phone_number__status__in=HELD_STATUSES).values_list(
            "phone_number_id", "period_start"
        )
    )
    unpaid = set(
        NumberFeeCharge.objects.filter(status=FeeStatus.UNPAID).values_list(
            "phone_number__channel__workspace_id", flat=True
        )
    )
    wallets = dict(
        Wallet.objects.filter(kind=Wallet.Kind.SMS, workspace_id__in=list(by_workspace)).values_list(
            "workspace_id", "id"
        )
    )
    work: list[_WorkspaceWork] = []
    for workspace_id, numbers in sorted(by_workspace.items()):
        item = _WorkspaceWork(
            wallet_id=wallets[workspace_id],
            due=_due_periods(numbers=numbers, billed=billed, today=on or zone_date(now, zones[workspace_id])),
            settle=workspace_id in unpaid,
        )
        if item.due or item.settle:
            work.append(item)
    events: list[NumberBillingEvent] = []
    for chunk in _chunks(work):
        events += _chunk_bill(chunk=chunk, held=held, now=now)
    return events + number_releases_run(now=now, on=on)


def number_fees_bill(
    *, now: datetime | None = None, on: date | None = None, dry_run: bool = False
) -> list[NumberBillingEvent]:
    """Bill every due period of every held number and release what is due. Idempotent.

    Due means on or before today in the workspace's time zone, or on or before `on`
    when an operator names the day (`bill_numbers --date`); `now` is when it happens.

    A dry run runs the very same code inside one transaction that is rolled back,
    so what it prints is exactly what a real run would do and it writes nothing
    (no ledger row, no charge, no email: on-commit hooks of a rolled-back
    transaction never fire).
    """
    now = now or timezone.now()
    if not dry_run:
        return _all_bill(now=now, on=on)
    with transaction.atomic():
        events = _all_bill(now=now, on=on)
        transaction.set_rollback(True)
    return events


def number_releases_run(
    *, workspace: Workspace | None = None, now: datetime | None = None, on: date | None = None
) -> list[NumberBillingEvent]:
    """Release every number whose release day has come in its workspace's time zone (or by `on`)."""
    now = now or timezone.now()
    scheduled = PhoneNumber.objects.filter(status=Status.RELEASE_SCHEDULED).select_related("channel__workspace")
    if workspace is not None:
        scheduled = scheduled.filter(channel__workspace=workspace)
    events = []
    for candidate in scheduled:
        if candidate.release_scheduled_for > (on or local_today(workspace=candidate.channel.workspace, now=now)):
            continue
        with transaction.atomic():
            number = _locked_number(candidate.id)
            if number.status == Status.RELEASE_SCHEDULED:
                events.append(_release(number=number, now=now))
    return events


# --- paying unpaid periods after a credit ---------------------------------------------


def number_fees_settle(*, wallet_id: int, now: datetime | None = None) -> list[NumberBillingEvent]:
    """Pay the SMS wallet's unpaid periods oldest first, as far as the balance goes,
    and cancel a scheduled release once fewer than UNPAID_CYCLES_BEFORE_RELEASE periods of it are unpaid."""
    now = now or timezone.now()
    wallet = Wallet.objects.get(pk=wallet_id)
    if wallet.kind != Wallet.Kind.SMS:
        return []
    unpaid = NumberFeeCharge.objects.filter(
        status=FeeStatus.UNPAID,
        phone_number__channel__workspace_id=wallet.workspace_id,
        phone_number__status__in=HELD_STATUSES,
    ).order_by("period_start", "id")
    events: list[NumberBillingEvent] = []
    for charge_id, number_id in unpaid.values_list("id", "phone_number_id"):
        with transaction.atomic():
            number = _locked_number(number_id)
            charge = NumberFeeCharge.objects.select_for_update().get(pk=charge_id)
            if charge.status != FeeStatus.UNPAID or number.status == Status.RELEASED:
                continue
            try:
                posting = _fee_post(number=number, period_start=charge.period_start, reference_kind="paid late")
            except InsufficientBalance:
                break
            charge.status, charge.posting, charge.settled_at = FeeStatus.PAID_LATE, posting, now
            charge.save(update_fields=["status", "posting", "settled_at"])
            events.append(NumberBillingEvent(number.number, charge.period_start, "paid_late", charge.amount))
            if (
                number.status == Status.RELEASE_SCHEDULED
                and number_unpaid_count(phone_number=number) < defaults.UNPAID_CYCLES_BEFORE_RELEASE
            ):
                events.append(NumberBillingEvent(number.number, number.release_scheduled_for, "release_cancelled"))
                number.status, number.release_scheduled_for = Status.ACTIVE, None
                number.save(update_fields=["status", "release_scheduled_for"])
                number_event_record(number=number, type=EventType.NUMBER_RELEASE_CANCELLED, key=charge.id)
    return events
