"""Finance writes: adjustments, refunds, the audit log and recorded ledger checks.

Money moves only through `wallets.services.ledger_post`. Stripe is called outside
any database transaction; a refund's ledger entry waits for Stripe's confirmation.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

import stripe
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Sum
from django.utils import timezone

from finance import defaults as finance_defaults
from finance.groups import FINANCE_GROUP
from finance.models import AuditEntry, LedgerCheck, Refund
from payments.models import TopUp
from payments.stripe_api import stripe_client
from wallets.exceptions import IdempotencyKeyReused
from wallets.models import Wallet, WalletTransaction
from wallets.money import DECIMAL_PLACES, ZERO, MoneyInvalid, format_usd, from_cents, money_parse, to_cents
from wallets.selectors import ledger_verify
from wallets.services import Posting, ledger_post

logger = logging.getLogger(__name__)
User = get_user_model()


class FinanceError(Exception):
    """A finance request refused, with a message fit to show the staff user; nothing written."""


class FormAlreadyPosted(FinanceError):
    """The form was submitted before with another amount; a fresh form may post again."""


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    target: models.Model,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk or ""),
        before=before,
        after=after,
        reason=reason,
    )


def _reason_clean(reason: object) -> str:
    reason = str(reason or "").strip()
    if not reason:
        raise FinanceError("A reason is required.")
    return reason


def amount_parse(raw: object, *, places: int) -> Decimal:
    """A non-zero amount typed by a person (wallets.money.money_parse), signed, at most `places` decimals."""
    try:
        amount = money_parse(raw, places=places, allow_negative=True)
    except MoneyInvalid as exc:
        raise FinanceError(str(exc)) from None
    if amount == ZERO:
        raise FinanceError("The amount must not be zero.")
    return amount


def confirm_above() -> Decimal:
    """Above this (either sign), an adjustment or refund waits for a second confirmation."""
    return Decimal(str(finance_defaults.FINANCE_CONFIRM_ABOVE))


def confirmation_needed(*, amount: Decimal) -> bool:
    """Whether an adjustment or refund is large enough that finance must confirm it again."""
    return abs(amount) > confirm_above()


def _posting_snapshot(posting: WalletTransaction) -> dict:
    return {
        "ledger_row": posting.pk,
        "kind": posting.kind,
        "amount": str(posting.amount),
        "balance_after": str(posting.balance_after),
    }


def adjustment_post(
    *, wallet: Wallet, amount: object, reason: object, user: AbstractBaseUser, form_token: str
) -> WalletTransaction:
    """A credit (positive) or debit (negative) adjustment with a mandatory reason.

    `form_token` is issued once per form, so a double submit posts once."""
    reason = _reason_clean(reason)
    amount = amount_parse(amount, places=DECIMAL_PLACES)
    if not form_token:
        raise FinanceError("The form has expired; open it again.")
    key = f"adjustment:{form_token}"
    try:
        posting = _adjustment_post(wallet=wallet, amount=amount, reason=reason, user=user, key=key)
    except IdempotencyKeyReused:
        # Back, a changed amount, submit again: the form's first posting stands.
        first = WalletTransaction.objects.get(wallet_id=wallet.pk, idempotency_key=key)
        raise FormAlreadyPosted(
            f"This form already posted an adjustment of {format_usd(first.amount)} (ledger row {first.pk}); "
            f"nothing new was posted. To post another adjustment as well, submit this form again."
        ) from None
    return posting.transaction


@transaction.atomic
def _adjustment_post(*, wallet: Wallet, amount: Decimal, reason: str, user: AbstractBaseUser, key: str) -> Posting:
    posting = ledger_post(
        wallet_id=wallet.pk,
        kind=WalletTransaction.Kind.ADJUSTMENT,
        amount=amount,
        idempotency_key=key,
        reference=f"adjustment by {user.get_username()}",
        memo=reason,
        created_by=user,
    )
    if posting.created:
        audit_record(
            actor=user,
            action="adjustment",
            target=wallet,
            before={"balance": str(posting.transaction.balance_before)},
            after={"balance": str(posting.balance_after), **_posting_snapshot(posting.transaction)},
            reason=reason,
        )
    return posting


# --- refunds -------------------------------------------------------------------------


def refundable_amount(*, topup: TopUp) -> Decimal:
    """What is left to refund: paid, less every refund not failed (pending ones included)."""
    refunded = topup.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))["total"] or ZERO
    return (topup.amount_paid or ZERO) - refunded


def _payment_intent_of(topup: TopUp) -> str:
    if topup.payment_intent_id:
        return topup.payment_intent_id
    session = stripe_client().v1.checkout.sessions.retrieve(topup.checkout_session_id)
    if not session.payment_intent:
        raise FinanceError(f"Stripe shows no payment for top-up {topup.id}.")
    return session.payment_intent


def _refund_open(*, topup_id: int, amount: Decimal, reason: str, user: AbstractBaseUser) -> Refund:
    with transaction.atomic():
        # The top-up row lock serialises refunds of one top-up, so two at once cannot exceed what was paid.
        topup = TopUp.objects.select_for_update().get(pk=topup_id)
        if topup.status != TopUp.Status.SUCCEEDED:
            raise FinanceError(f"Top-up {topup.id} is {topup.get_status_display().lower()}: only paid top-ups refund.")
        left = refundable_amount(topup=topup)
        if amount > left:
            raise FinanceError(
                f"{format_usd(amount)} is more than what is left to refund of top-up {topup.id} ({format_usd(left)})."
            )
        refund = Refund.objects.create(topup=topup, amount=amount, reason=reason, created_by=user)
        audit_record(
            actor=user,
            action="refund_requested",
            target=topup,
            before={"refundable": str(left)},
            after={"refund": refund.pk, "amount": str(amount), "refundable": str(left - amount)},
            reason=reason,
        )
    return refund


def refund_issue(*, topup: TopUp, amount: object, reason: object, user: AbstractBaseUser) -> Refund:
    """Refund (part of) a paid top-up through Stripe. The negative `refund` ledger entry is
    posted when Stripe confirms: at once if the refund comes back succeeded, else on
    the `charge.refunded` webhook."""
    reason = _reason_clean(reason)
    amount = amount_parse(amount, places=2)
    if amount < ZERO:
        raise FinanceError("Enter the refund as a positive amount.")
    refund = _refund_open(topup_id=topup.pk, amount=amount, reason=reason, user=user)
    try:
        stripe_refund = _refund_send(refund)
    except (stripe.StripeError, FinanceError) as exc:
        message = getattr(exc, "user_message", None) or str(exc)
        Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.FAILED, failure_reason=message)
        raise FinanceError(f"Stripe refused the refund; nothing was refunded: {message}") from exc
    Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=stripe_refund.id)
    if stripe_refund.status == "succeeded":
        refund_confirm(refund_id=refund.pk)
    refund.refresh_from_db()
    return refund


def _refund_send(refund: Refund) -> stripe.Refund:
    """Ask Stripe for the refund. The idempotency key is the refund's own, so asking again
    (within Stripe's 24 hours) returns the refund Stripe made the first time, never a second."""
    intent_id = refund.payment_intent_id or _payment_intent_of(refund.topup)
    Refund.objects.filter(pk=refund.pk).update(payment_intent_id=intent_id)
    return stripe_client().v1.refunds.create(
        params={
            "payment_intent": intent_id,
            "amount": to_cents(refund.amount),
            "metadata": {"refund_id": str(refund.pk), "topup_id": str(refund.topup_id)},
        },
        options={"idempotency_key": f"refund:{refund.pk}:{refund.created_at.timestamp():.6f}"},
    )


# A refund still pending this long after it was asked for is looked up at Stripe: its
# webhook may have been lost, or the portal may have stopped between asking and recording.
REFUND_LOOKUP_AFTER = timedelta(minutes=10)
# Stripe keeps idempotency keys for 24 hours: within them, asking again is safe.
REFUND_RESEND_WITHIN = timedelta(hours=23)


def refunds_reconcile(*, now: datetime | None = None) -> list[str]:
    """Settle refunds left pending: post those Stripe has paid, fail those it refused,
    and ask again (same key, so never twice) for those whose Stripe id was never recorded.
    Returns one line per refund looked at. Safe to repeat."""
    now = now or timezone.now()
    outcomes = []
    pending = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=now - REFUND_LOOKUP_AFTER)
    for refund in pending.select_related("topup").order_by("id"):
        try:
            if refund.stripe_refund_id:
                stripe_refund = stripe_client().v1.refunds.retrieve(refund.stripe_refund_id)
            elif now - refund.created_at <= REFUND_RESEND_WITHIN:
                stripe_refund = _refund_send(refund)
                Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=stripe_refund.id)
            else:
                logger.error("refund %s: no Stripe id after 24 hours; look it up in Stripe by its metadata", refund.pk)
                outcomes.append(f"refund {refund.pk}: no Stripe id after 24 hours, check Stripe")
                continue
        except (stripe.StripeError, FinanceError) as exc:
            logger.warning("refund %s: Stripe lookup failed, will retry: %s", refund.pk, exc)
            outcomes.append(f"refund {refund.pk}: Stripe lookup failed, will retry")
            continue
        outcome = refund_settle(
            refund_id=refund.pk,
            stripe_refund_id=stripe_refund.id,
            status=stripe_refund.status,
            failure_reason=getattr(stripe_refund, "failure_reason", None),
        )
        outcomes.append(f"refund {refund.pk}: {outcome}")
    return outcomes


def refund_settle(*, refund_id: int, stripe_refund_id: str, status: str, failure_reason: str | None) -> str:
    """Apply Stripe's status of one of our refunds (from reconcile or a `refund.*` event):
    succeeded posts it, failed or canceled closes it with nothing posted. Safe to repeat."""
    if status == "succeeded":
        refund_confirm(refund_id=refund_id)
        return "posted"
    if status in ("failed", "canceled"):
        reason = failure_reason or status
        refund = Refund.objects.select_related("topup").get(pk=refund_id)
        if Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, failure_reason=f"Stripe: {reason}"
        ):
            audit_record(
                actor=None, action="refund_failed", target=refund.topup,
                after={"refund": refund_id, "stripe_refund": stripe_refund_id, "failure": reason},
            )  # fmt: skip
        return f"{status} at Stripe, nothing posted"
    return f"still {status} at Stripe"


def finance_notify(*, subject: str, body: str) -> None:
    """Tell the Finance group by email, once the current transaction commits."""
    from finance.tasks import send_finance_notice

    transaction.on_commit(lambda: send_finance_notice.delay(subject, body))


def finance_notice_send(*, subject: str, body: str) -> int:
    recipients = sorted(
        User.objects.filter(groups__name=FINANCE_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0
    return send_mail(f"[Finance] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients)


def refund_confirm(*, refund_id: int) -> Refund:
    """Stripe confirmed the refund: post the negative entry, once."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("topup").get(pk=refund_id)
        if refund.status != Refund.Status.PENDING:
            return refund
        posting = ledger_post(
            wallet_id=refund.topup.wallet_id,
            kind=WalletTransaction.Kind.REFUND,
            amount=-refund.amount,
            idempotency_key=f"refund:{refund.pk}",
            reference=f"refund:{refund.pk} of {refund.topup.reference}",
            memo=refund.reason,
            created_by=refund.created_by,
        )
        refund.status, refund.posting = Refund.Status.SUCCEEDED, posting.transaction
        refund.save(update_fields=["status", "posting", "updated_at"])
        audit_record(
            actor=refund.created_by,
            action="refund_posted",
            target=refund.topup,
            after={
                "refund": refund.pk,
                "stripe_refund": refund.stripe_refund_id,
                **_posting_snapshot(posting.transaction),
            },
            reason=refund.reason,
        )
    return refund


def refunds_confirm_from_charge(*, charge: dict) -> str:
    """`charge.refunded`: Stripe's cumulative `amount_refunded` confirms our refunds of that
    payment, oldest first, as far as it reaches. Safe to repeat."""
    intent_id = charge.get("payment_intent")
    if not intent_id:
        return "charge without a payment intent"
    refunded = from_cents(charge.get("amount_refunded", 0))
    confirmed = []
    covered = ZERO
    for refund in (
        Refund.objects.filter(payment_intent_id=intent_id).exclude(status=Refund.Status.FAILED).order_by("id")
    ):
        covered += refund.amount
        if covered > refunded:
            break
        if refund.status == Refund.Status.PENDING:
            refund_confirm(refund_id=refund.pk)
            confirmed.append(str(refund.pk))
    return f"confirmed refunds {', '.join(confirmed)}" if confirmed else "no refund to confirm"


# --- ledger checks -------------------------------------------------------------------


def ledger_check_run() -> LedgerCheck:
    """Run verify_ledger's proof and keep its result for the dashboard."""
    report = ledger_verify()
    return LedgerCheck.objects.create(
        ok=not report.problems,
        wallets_checked=report.wallets_checked,
        rows_checked=report.transactions_checked,
        problems=report.problems,
    )
