"""Writes of the alerts app: deciding and recording events, their emails, and the rules
and preferences admins set. Webhook endpoints and deliveries are in alerts.webhooks."""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alerts import defaults
from alerts.models import AlertRule, Event, EventType, ExtraRecipient, NotificationPreference
from alerts.selectors import WalletAlerting, admin_recipients, event_payload, wallet_alerting
from payments.models import TopUp
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import CENT, ZERO, format_usd
from wallets.selectors import wallet_status

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(EVENTS_LOCK, workspace id): one workspace's events commit in id order.
EVENTS_LOCK = 18_001
CREDIT_KINDS = (WalletTransaction.Kind.TOP_UP, WalletTransaction.Kind.AUTO_TOP_UP)


class AlertSettingInvalid(Exception):
    """A rule, preference or recipient an admin asked for that cannot be saved; shown as is."""


@dataclass(frozen=True)
class EventDraft:
    type: str
    dedup_key: str
    data: dict


def _money(amount: Decimal) -> str:
    return str(amount)


# --- recording ---------------------------------------------------------------------------


def events_record(*, workspace_id: int, drafts: Iterable[EventDraft]) -> list[Event]:
    """Record each draft once (by its dedup key) and queue its email and webhooks after commit.

    The per-workspace advisory lock is held to the end of the transaction, so one
    workspace's events commit in the order of their ids: a reader of
    `GET /api/v1/events?after=` that has seen id N never later finds an id below N appear.
    Called inside the caller's transaction where the event belongs to its change (a
    number scheduled for release), so the event exists if and only if the change does.
    """
    drafts = list(drafts)
    if not drafts:
        return []
    from alerts.webhooks import deliveries_create

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EVENTS_LOCK, workspace_id])
        keys = [draft.dedup_key for draft in drafts]
        seen = set(Event.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        new, fresh_keys = [], set()
        for draft in drafts:
            if draft.dedup_key in seen or draft.dedup_key in fresh_keys:
                continue
            fresh_keys.add(draft.dedup_key)
            new.append(Event(workspace_id=workspace_id, type=draft.type, data=draft.data, dedup_key=draft.dedup_key))
        events = Event.objects.bulk_create(new)
        deliveries_create(workspace_id=workspace_id, events=events)
    for event in events:
        event_id = event.id
        transaction.on_commit(lambda event_id=event_id: _email_queue(event_id))
    return events


def _email_queue(event_id: int) -> None:
    from alerts.tasks import event_email_send

    event_email_send.delay(event_id)


def _wallet_data(kind: str, balance: Decimal, **extra) -> dict:
    return {"wallet": kind, "balance": _money(balance), **extra}


def _fell_before(*, wallet_id: int, posting_id: int, line: Decimal, at_line_is_below: bool) -> bool:
    """Did an earlier ledger row of the wallet go below the line? A rise is a recovery only
    after a fall: a new wallet's first top-up from zero recovers nothing. Crossings of one
    line alternate along the ledger, so any earlier fall makes this rise its recovery."""
    if at_line_is_below:
        fell = Q(balance_before__gt=line, balance_after__lte=line)
    else:
        fell = Q(balance_before__gte=line, balance_after__lt=line)
    return WalletTransaction.objects.filter(fell, wallet_id=wallet_id, id__lt=posting_id).exists()


def posting_drafts(*, alerting: WalletAlerting, postings: list[WalletTransaction]) -> list[EventDraft]:
    """The events a committed run of postings causes, in ledger order.

    Each posting carries the balance before and after it, so a crossing is a fact of one
    ledger row: however many postings race, exactly one row goes from at-or-above a
    threshold to below it, and its id is the crossing's key. A balance that oscillates
    around a line crosses it (and alerts) once per real crossing, never per posting.
    """
    drafts: list[EventDraft] = []
    kind, wallet_id = alerting.kind, alerting.wallet_id
    # SMS stops at zero itself; WhatsApp only below it (wallets.selectors.wallet_status).
    stop_at_zero = kind == Wallet.Kind.SMS
    for posting in postings:
        before, after = posting.balance_before, posting.balance_after
        stopped_before = not wallet_status(kind=kind, balance=before).messaging_allowed
        stopped_after = not wallet_status(kind=kind, balance=after).messaging_allowed
        row = {"ledger_transaction_id": posting.id}
        if after < before:
            for rule_id, threshold in alerting.rules:  # highest line first, as the balance falls
                if before >= threshold > after:
                    data = _wallet_data(kind, after, threshold=_money(threshold), rule_id=rule_id, **row)
                    drafts.append(EventDraft(EventType.WALLET_LOW, f"wallet.low:{rule_id}:{posting.id}", data))
            if stopped_after and not stopped_before:
                stop = EventType.WALLET_SUSPENDED if stop_at_zero else EventType.WALLET_PAUSED
                drafts.append(EventDraft(stop, f"{stop}:{posting.id}", _wallet_data(kind, after, **row)))
            continue
        if posting.kind in CREDIT_KINDS:
            data = _wallet_data(kind, after, amount=_money(posting.amount), top_up=posting.kind, **row)
            drafts.append(EventDraft(EventType.TOP_UP_SUCCEEDED, f"top_up.succeeded:{posting.id}", data))
        if (
            stopped_before
            and not stopped_after
            and _fell_before(wallet_id=wallet_id, posting_id=posting.id, line=ZERO, at_line_is_below=stop_at_zero)
        ):
            resumed = EventType.WALLET_RESUMED
            drafts.append(EventDraft(resumed, f"{resumed}:{posting.id}", _wallet_data(kind, after, **row)))
        for rule_id, threshold in reversed(alerting.rules):  # lowest line first, as the balance rises
            if before < threshold <= after and _fell_before(
                wallet_id=wallet_id, posting_id=posting.id, line=threshold, at_line_is_below=False
            ):
                data = _wallet_data(kind, after, threshold=_money(threshold), rule_id=rule_id, **row)
                drafts.append(EventDraft(EventType.WALLET_RECOVERED, f"wallet.recovered:{rule_id}:{posting.id}", data))
    return drafts


def posting_events_record(
    *, wallet_id: int, postings: list[WalletTransaction], alerting: WalletAlerting | None = None
) -> list[Event]:
    """After a posting commits: the crossings, suspensions and top-ups it caused.
    `alerting`: the wallet's rules as the posting read them; read here when not given."""
    if alerting is None:
        alerting = wallet_alerting(wallet_id=wallet_id)
    return events_record(
        workspace_id=alerting.workspace_id, drafts=posting_drafts(alerting=alerting, postings=postings)
    )


def number_event_record(*, number, type: str, key: object, **details: object) -> None:
    """A number billing step (fee unpaid, release scheduled / cancelled, released), once per `key`."""
    workspace_id = number.channel.workspace_id
    balance = Wallet.objects.values_list("balance", flat=True).get(workspace_id=workspace_id, kind=Wallet.Kind.SMS)
    data = _wallet_data(Wallet.Kind.SMS, balance, number=number.number, monthly_fee=_money(number.monthly_fee))
    data |= {name: value.isoformat() if isinstance(value, date) else value for name, value in details.items()}
    events_record(workspace_id=workspace_id, drafts=[EventDraft(type, f"{type}:{number.id}:{key}", data)])


def auto_top_up_failed_record(*, topup, reason: str, card_paused: bool) -> None:
    wallet = topup.wallet
    data = _wallet_data(
        wallet.kind, wallet.balance, amount=_money(topup.amount), reason=reason, card_paused=card_paused,
        top_up_id=topup.id,
    )  # fmt: skip
    draft = EventDraft(EventType.AUTO_TOP_UP_FAILED, f"auto_top_up.failed:{topup.id}", data)
    events_record(workspace_id=wallet.workspace_id, drafts=[draft])


def auto_top_up_paused_record(*, wallet: Wallet, reason: str, until) -> None:
    """The retry policy held an auto top-up back: said once per wallet per (UTC) day, and not
    while it only waits out the back-off of a failure the admins were just told of."""
    latest = TopUp.objects.filter(wallet=wallet, kind=TopUp.Kind.AUTO).order_by("-id").values_list("status", flat=True)
    if latest.first() == TopUp.Status.FAILED and until is not None:
        return
    day = timezone.now().date().isoformat()
    data = _wallet_data(wallet.kind, wallet.balance, reason=reason, until=until.isoformat() if until else None)
    draft = EventDraft(EventType.AUTO_TOP_UP_PAUSED, f"auto_top_up.paused:{wallet.id}:{day}", data)
    events_record(workspace_id=wallet.workspace_id, drafts=[draft])


# --- email -------------------------------------------------------------------------------

SUBJECTS = {
    EventType.WALLET_LOW: "{wallet_name} balance below {threshold}",
    EventType.WALLET_RECOVERED: "{wallet_name} balance back above {threshold}",
    EventType.WALLET_SUSPENDED: "SMS wallet empty: SMS and MMS suspended",
    EventType.WALLET_PAUSED: "WhatsApp balance below zero: sending paused",
    EventType.WALLET_RESUMED: "{wallet_name} messaging resumed",
    EventType.TOP_UP_SUCCEEDED: "{amount} added to the {wallet_name} wallet",
    EventType.AUTO_TOP_UP_FAILED: "Auto top-up failed: {wallet_name} wallet",
    EventType.AUTO_TOP_UP_PAUSED: "Auto top-up paused: {wallet_name} wallet",
    EventType.NUMBER_FEE_UNPAID: "Monthly fee for {number} unpaid",
    EventType.NUMBER_RELEASE_SCHEDULED: "Number {number} will be released on {release_on}",
    EventType.NUMBER_RELEASE_CANCELLED: "Release of {number} cancelled",
    EventType.NUMBER_RELEASED: "Number {number} was released",
}


def _email_context(event: Event, workspace: Workspace) -> dict:
    data = event.data
    kind = data.get("wallet", Wallet.Kind.SMS)
    page = "sms_wallet" if kind == Wallet.Kind.SMS else "whatsapp_billing"

    def usd(name: str) -> str:
        return format_usd(Decimal(data[name])) if data.get(name) is not None else ""

    def day(name: str) -> str:
        return f"{date.fromisoformat(data[name]):%d %b %Y}" if data.get(name) else ""

    return {
        "event": event,
        "payload": event_payload(event=event, workspace_slug=workspace.slug),
        "workspace": workspace,
        "data": data,
        "wallet_name": Wallet.Kind(kind).label,
        "balance": usd("balance"),
        "threshold": usd("threshold"),
        "amount": usd("amount"),
        "monthly_fee": usd("monthly_fee"),
        "number": data.get("number", ""),
        "release_on": day("release_on"),
        "wallet_url": settings.SITE_URL.rstrip("/") + reverse(page, args=[workspace.slug]),
        "settings_url": settings.SITE_URL.rstrip("/") + reverse("alerts:notifications", args=[workspace.slug]),
    }


def event_email_render(*, event: Event, workspace: Workspace) -> tuple[str, str, str]:
    """(subject, text, html) of an event's email."""
    context = _email_context(event, workspace)
    subject = f"[{workspace.name}] " + SUBJECTS[event.type].format(**context)
    text = render_to_string("alerts/email/event.txt", context)
    html = render_to_string("alerts/email/event.html", context)
    return subject, text, html


def event_email_send(*, event_id: int) -> int:
    """Email one event to its recipients, once: a retried task finds it sent (`emailed_at`)."""
    event = Event.objects.select_related("workspace").get(pk=event_id)
    if event.emailed_at is not None:
        return 0
    recipients = admin_recipients(workspace_id=event.workspace_id, event_type=event.type)
    if recipients:
        subject, text, html = event_email_render(event=event, workspace=event.workspace)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
        message.attach_alternative(html, "text/html")
        message.send()
    Event.objects.filter(pk=event_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return len(recipients)


# --- what admins set -------------------------------------------------------------------------

# Dollars and cents as a person types them: 20, 1,000, 12.50. Never "20,00" or "1e3".
AMOUNT_RE = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?")


def threshold_parse(raw: object) -> Decimal:
    text = str(raw or "").strip().removeprefix("US$").removeprefix("$")
    if not AMOUNT_RE.fullmatch(text):
        raise AlertSettingInvalid(f"{str(raw)[:40]!r} is not an amount in dollars and cents, e.g. 25 or 1,000.50.")
    amount = Decimal(text.replace(",", "")).quantize(CENT)
    if amount <= 0:
        raise AlertSettingInvalid("A threshold is more than US$0.00: at zero the wallet is already suspended.")
    if amount >= Decimal(10) ** 9:
        raise AlertSettingInvalid("That threshold is larger than any balance.")
    return amount


def alert_rule_add(*, wallet: Wallet, threshold: object, user=None) -> AlertRule:
    amount = threshold_parse(threshold)
    limit = defaults.get("MAX_THRESHOLDS_PER_WALLET")
    with transaction.atomic():
        Wallet.objects.select_for_update().filter(pk=wallet.pk).values_list("id").get()
        if AlertRule.objects.filter(wallet=wallet, threshold=amount).exists():
            raise AlertSettingInvalid(f"There is already an alert at {format_usd(amount)}.")
        if AlertRule.objects.filter(wallet=wallet).count() >= limit:
            raise AlertSettingInvalid(f"A wallet has at most {limit} alert thresholds; remove one first.")
        return AlertRule.objects.create(wallet=wallet, threshold=amount, created_by=user)


def alert_rule_remove(*, rule: AlertRule) -> None:
    """The line's past events stay: they name the rule by id, not by a foreign key."""
    rule.delete()


def alert_rules_default(*, wallet: Wallet) -> None:
    """A new wallet alerts at its kind's default line (alerts.defaults.DEFAULT_THRESHOLDS)."""
    threshold = defaults.get("DEFAULT_THRESHOLDS").get(wallet.kind)
    if threshold:
        AlertRule.objects.get_or_create(wallet=wallet, threshold=threshold)


def email_preferences_save(*, user, workspace: Workspace, enabled_types: Iterable[str]) -> None:
    """One admin's choice of the event types emailed to them; every other type is off."""
    enabled = set(enabled_types)
    with transaction.atomic():
        for event_type in EventType.values:
            NotificationPreference.objects.update_or_create(
                user=user, workspace=workspace, event_type=event_type, defaults={"email": event_type in enabled}
            )


def extra_recipient_add(*, workspace: Workspace, email: str) -> ExtraRecipient:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AlertSettingInvalid(f"{email[:80]!r} is not an email address.") from exc
    try:
        with transaction.atomic():
            return ExtraRecipient.objects.create(workspace=workspace, email=email)
    except IntegrityError as exc:
        raise AlertSettingInvalid(f"{email} already receives the alerts.") from exc


def extra_recipient_remove(*, recipient: ExtraRecipient) -> None:
    recipient.delete()
