"""Money that leaves at Stripe leaves the wallet, once: refunds made at Stripe (the
Dashboard, not the portal) and disputes (chargebacks) of a top-up's charge.

Each is a ChargeReversal unique by Stripe's id, and each posting's ledger key is derived
from that id, so a repeated event, an event that overtakes another, or reconcile seeing
the same object again posts nothing more. Stripe's status only moves forward here: a late
`pending` never undoes a `failed`, a late `needs_response` never undoes a `won`.
The portal's own refunds (finance.Refund, found by their metadata) stay finance's.
"""

import logging

from django.db import IntegrityError, transaction

from finance.models import Refund
from finance.services import audit_record, finance_notify, refund_settle
from payments.exceptions import PaymentRefused
from payments.models import ChargeReversal, StripeCustomer, TopUp
from payments.services import saved_card_pause
from wallets.models import WalletTransaction
from wallets.money import format_usd, from_cents
from wallets.notices import admins_notify
from wallets.services import ledger_post

logger = logging.getLogger(__name__)

# A refund in these states has left our Stripe balance (pending: on its way to the customer).
REFUND_MONEY_GONE = ("pending", "succeeded")
REFUND_MONEY_BACK = ("failed", "canceled")
# Stripe's final dispute states; an inquiry (`warning_*`) moves no money until it becomes a dispute.
DISPUTE_FINAL = ("won", "lost", "warning_closed", "prevented")


def _topup_paid_by(obj: dict) -> TopUp:
    intent_id = obj.get("payment_intent")
    topup = TopUp.objects.filter(payment_intent_id=intent_id).first() if intent_id else None
    if topup is None or topup.status != TopUp.Status.SUCCEEDED:
        raise PaymentRefused(f"no paid top-up matches {obj.get('object')} {obj['id']} ({intent_id})")
    return topup


def _reversal_locked(*, kind: str, obj: dict, topup: TopUp) -> ChargeReversal:
    defaults = {"topup": topup, "kind": kind, "amount": from_cents(obj["amount"]), "stripe_status": obj["status"]}
    try:
        with transaction.atomic():
            ChargeReversal.objects.get_or_create(stripe_id=obj["id"], defaults=defaults)
    except IntegrityError:
        pass  # a concurrent delivery created it; the lock below waits for it
    return (
        ChargeReversal.objects.select_for_update().select_related("topup__wallet__workspace").get(stripe_id=obj["id"])
    )


def _post(reversal: ChargeReversal, *, sign: int, key: str, memo: str) -> WalletTransaction:
    kind = (
        WalletTransaction.Kind.REFUND if reversal.kind == ChargeReversal.Kind.REFUND else WalletTransaction.Kind.DISPUTE
    )
    return ledger_post(
        wallet_id=reversal.topup.wallet_id,
        kind=kind,
        amount=sign * reversal.amount,
        idempotency_key=f"stripe:{key}:{reversal.stripe_id}",
        reference=f"{reversal.stripe_id} of {reversal.topup.reference}",
        memo=memo,
    ).transaction


def _tell(reversal: ChargeReversal, *, subject: str, body: str) -> None:
    """Finance and the workspace admins hear of every movement Stripe made on its own."""
    wallet = reversal.topup.wallet
    wallet.refresh_from_db(fields=["balance"])
    text = f"{body}\n\nThe {wallet.get_kind_display()} wallet balance is now {format_usd(wallet.balance)}."
    finance_notify(subject=f"{subject} ({wallet.workspace.name})", body=text)
    admins_notify(workspace=wallet.workspace, subject=subject, body=text)
    audit_record(
        actor=None,
        action=f"stripe_{reversal.kind}",
        target=reversal.topup,
        after={"stripe_id": reversal.stripe_id, "amount": str(reversal.amount), "status": reversal.stripe_status},
    )


def _is_own_refund(refund: dict) -> bool:
    # Only the portal sets `refund_id` metadata (finance's _refund_send); the Dashboard does not.
    own_id = str((refund.get("metadata") or {}).get("refund_id", ""))
    return Refund.objects.filter(stripe_refund_id=refund["id"]).exists() or (
        own_id.isdigit() and Refund.objects.filter(pk=int(own_id)).exists()
    )


def stripe_refund_apply(*, refund: dict) -> str:
    """A `refund.*` event or a refund listed by Stripe: ours goes to finance; any other is
    money refunded at Stripe, debited while it is pending or succeeded and credited back if
    it then fails."""
    if _is_own_refund(refund):
        own = Refund.objects.filter(stripe_refund_id=refund["id"]).first() or Refund.objects.get(
            pk=int(refund["metadata"]["refund_id"])
        )
        Refund.objects.filter(pk=own.pk, stripe_refund_id__isnull=True).update(stripe_refund_id=refund["id"])
        outcome = refund_settle(
            refund_id=own.pk,
            stripe_refund_id=refund["id"],
            status=refund["status"],
            failure_reason=refund.get("failure_reason"),
        )
        return f"portal refund {own.pk}: {outcome}"
    topup = _topup_paid_by(refund)
    with transaction.atomic():
        reversal = _reversal_locked(kind=ChargeReversal.Kind.REFUND, obj=refund, topup=topup)
        if reversal.stripe_status not in REFUND_MONEY_BACK:
            reversal.stripe_status = refund["status"]
        reversal.reason = refund.get("failure_reason") or refund.get("reason") or reversal.reason or ""
        posted = []
        if reversal.debit_id is None and reversal.stripe_status in REFUND_MONEY_GONE:
            reversal.debit = _post(reversal, sign=-1, key="refund", memo="Refunded at Stripe")
            posted.append("debited")
        if (
            reversal.debit_id is not None
            and reversal.credit_back_id is None
            and reversal.stripe_status in REFUND_MONEY_BACK
        ):
            reversal.credit_back = _post(reversal, sign=1, key="refund-failed", memo="Refund at Stripe failed")
            posted.append("credited back")
        reversal.save()
        if "debited" in posted:
            _tell(
                reversal,
                subject="Refund made at Stripe",
                body=f"Stripe refunded {format_usd(reversal.amount)} of top-up {topup.id} ({reversal.stripe_id}) "
                "outside the portal; the wallet was debited by the same amount.",
            )
    return f"outside refund {reversal.stripe_id} {reversal.stripe_status}: {', '.join(posted) or 'nothing to post'}"


def stripe_refunds_apply(*, refunds: list[dict]) -> str:
    """`charge.refunded` names no refund; the list fetched from Stripe does (fetched first,
    outside the transaction)."""
    return "; ".join(stripe_refund_apply(refund=refund) for refund in refunds) or "no refunds listed"


def stripe_dispute_apply(*, dispute: dict) -> str:
    """`charge.dispute.*`: an opened dispute debits the disputed amount and pauses the card;
    won credits it back; lost stays debited. A closing event that overtakes the opening
    one debits and credits in one go."""
    topup = _topup_paid_by(dispute)
    status = dispute["status"]
    with transaction.atomic():
        reversal = _reversal_locked(kind=ChargeReversal.Kind.DISPUTE, obj=dispute, topup=topup)
        if reversal.stripe_status not in DISPUTE_FINAL:
            reversal.stripe_status = status
        reversal.reason = dispute.get("reason") or reversal.reason
        inquiry = reversal.stripe_status.startswith("warning_")
        posted = []
        if reversal.debit_id is None and not inquiry:
            reversal.debit = _post(reversal, sign=-1, key="dispute", memo=f"Disputed at Stripe: {reversal.reason}")
            posted.append("debited")
        if reversal.debit_id is not None and reversal.credit_back_id is None and reversal.stripe_status == "won":
            reversal.credit_back = _post(reversal, sign=1, key="dispute-won", memo="Dispute won")
            posted.append("credited back")
        reversal.save()
        if "debited" in posted:
            _dispute_pause_card(topup=topup, dispute_id=reversal.stripe_id)
            _tell(
                reversal,
                subject="Payment disputed",
                body=f"The payment of top-up {topup.id} was disputed at Stripe ({reversal.stripe_id}, "
                f"{reversal.reason or 'no reason given'}): {format_usd(reversal.amount)} was debited from the "
                "wallet and auto top-up is paused until a new card is saved.",
            )
        if "credited back" in posted:
            _tell(
                reversal,
                subject="Dispute won",
                body=f"The dispute {reversal.stripe_id} of top-up {topup.id} was won: "
                f"{format_usd(reversal.amount)} was credited back.",
            )
    return f"dispute {reversal.stripe_id} {reversal.stripe_status}: {', '.join(posted) or 'nothing to post'}"


def _dispute_pause_card(*, topup: TopUp, dispute_id: str) -> None:
    """The card that paid an auto top-up, or the workspace's saved card for a Checkout
    payment (whose card was never saved): no off-session charge until a new card is saved."""
    saved = StripeCustomer.objects.filter(workspace_id=topup.wallet.workspace_id).first()
    method = topup.payment_method_id or (saved.payment_method_id if saved else "")
    if method:
        saved_card_pause(
            workspace_id=topup.wallet.workspace_id,
            payment_method_id=method,
            reason=f"a payment was disputed at Stripe ({dispute_id})",
        )
