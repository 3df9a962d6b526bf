"""Payments: Checkout top-ups, the saved card, auto top-up, webhooks and reconciliation.

Money enters the ledger only here, only through `ledger_post`, and only for an
amount Stripe says it charged: a verified webhook, or an object we fetched from
Stripe ourselves. The idempotency key is derived from the Stripe object, so the
webhook, the success page and the reconcile task credit once between them.
Stripe calls are never made inside a database transaction.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

import stripe
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from payments.exceptions import PaymentError, PaymentRefused
from payments.models import TOP_UP_MAX, TOP_UP_MIN, StripeCustomer, StripeEvent, TopUp
from payments.stripe_api import stripe_client
from wallets.models import AutoTopUpRule, Wallet, WalletTransaction, Workspace
from wallets.money import CENT, format_usd, from_cents, to_cents
from wallets.notices import admins_notify
from wallets.services import ledger_post

logger = logging.getLogger(__name__)

NEEDS_AUTHENTICATION = "The card needs authentication, which cannot happen off-session. Please top up manually."
AMOUNT_RANGE_MESSAGE = f"A top-up is {format_usd(Decimal(TOP_UP_MIN))} to {format_usd(Decimal(TOP_UP_MAX))}."


def topup_amount_parse(raw: object) -> Decimal:
    """A top-up amount from a person: whole cents, US$20 to US$2,000."""
    try:
        amount = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation as exc:
        raise PaymentError(f"{raw!r} is not an amount. {AMOUNT_RANGE_MESSAGE}") from exc
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise PaymentError(f"{raw!r} is not an amount in dollars and cents. {AMOUNT_RANGE_MESSAGE}")
    if not TOP_UP_MIN <= amount <= TOP_UP_MAX:
        raise PaymentError(f"{format_usd(amount)} is outside the limits. {AMOUNT_RANGE_MESSAGE}")
    return amount.quantize(CENT)


def _idempotency_key(label: str, pk: int, created_at: datetime) -> str:
    # The creation time keeps keys unique across databases that share one Stripe
    # test account (ids restart at 1 in every test database).
    return f"{label}:{pk}:{created_at.timestamp():.6f}"


def stripe_customer_ensure(*, workspace: Workspace) -> StripeCustomer:
    existing = StripeCustomer.objects.filter(workspace=workspace).first()
    if existing is not None:
        return existing
    # The key makes two concurrent first top-ups create one Stripe customer.
    customer = stripe_client().v1.customers.create(
        params={"name": workspace.name, "metadata": {"workspace_id": str(workspace.id)}},
        options={"idempotency_key": _idempotency_key("customer", workspace.id, workspace.created_at)},
    )
    return StripeCustomer.objects.get_or_create(workspace=workspace, defaults={"stripe_id": customer.id})[0]


def _absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def topup_checkout_start(*, wallet: Wallet, amount: object, user: AbstractBaseUser | None, base_url: str) -> str:
    """Create a pending manual TopUp and its Checkout Session; returns the URL to pay at."""
    amount = topup_amount_parse(amount)
    customer = stripe_customer_ensure(workspace=wallet.workspace)
    topup = TopUp.objects.create(wallet=wallet, kind=TopUp.Kind.MANUAL, amount=amount, created_by=user)
    slug = wallet.workspace.slug
    success = reverse("payments:topup_success", args=[slug, topup.id]) + "?session_id={CHECKOUT_SESSION_ID}"
    try:
        session = stripe_client().v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "customer": customer.stripe_id,
                "client_reference_id": str(topup.id),
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": to_cents(amount),
                            "product_data": {"name": f"{wallet.get_kind_display()} wallet top-up"},
                        },
                    }
                ],
                "metadata": {"topup_id": str(topup.id), "wallet_id": str(wallet.id)},
                "success_url": _absolute(base_url, success),
                "cancel_url": _absolute(base_url, reverse("payments:topup_cancelled", args=[slug, topup.id])),
            },
            options={"idempotency_key": _idempotency_key("topup-checkout", topup.id, topup.created_at)},
        )
    except stripe.StripeError as exc:
        TopUp.objects.filter(pk=topup.pk).update(status=TopUp.Status.FAILED, failure_reason=str(exc))
        raise PaymentError("Stripe could not start the payment; nothing was charged. Please try again.") from exc
    TopUp.objects.filter(pk=topup.pk).update(checkout_session_id=session.id)
    return session.url


def _topup_matching(*, stripe_field: str, obj: dict, kind: str) -> TopUp:
    """The top-up a Stripe object pays for, which must be the workspace's own customer's;
    records the object's id on it if a crash lost it."""
    metadata = obj.get("metadata") or {}
    topup = TopUp.objects.filter(**{stripe_field: obj["id"]}).select_related("wallet__workspace").first()
    if topup is None and str(metadata.get("topup_id", "")).isdigit():
        # The Stripe call succeeded but its id was not saved yet (or a crash lost it).
        topup = (
            TopUp.objects.filter(pk=int(metadata["topup_id"]), kind=kind, **{f"{stripe_field}__isnull": True})
            .select_related("wallet__workspace")
            .first()
        )
    if topup is None:
        raise PaymentRefused(f"no top-up matches {obj['id']}")
    workspace = topup.wallet.workspace
    own = StripeCustomer.objects.filter(workspace=workspace).values_list("stripe_id", flat=True).first()
    if not obj.get("customer") or obj["customer"] != own:
        raise PaymentRefused(f"{obj.get('customer')} is not the Stripe customer of workspace {workspace.slug}")
    TopUp.objects.filter(pk=topup.pk, **{f"{stripe_field}__isnull": True}).update(**{stripe_field: obj["id"]})
    return topup


def _topup_credit(*, topup_id: int, cents: int, currency: str, stripe_key: str) -> TopUp:
    if currency.lower() != "usd":
        raise PaymentRefused(f"{stripe_key} was paid in {currency}, not USD")
    amount = from_cents(cents)
    with transaction.atomic():
        topup = TopUp.objects.select_for_update().get(pk=topup_id)
        if topup.status == TopUp.Status.SUCCEEDED:
            return topup
        kind = WalletTransaction.Kind.AUTO_TOP_UP if topup.kind == TopUp.Kind.AUTO else WalletTransaction.Kind.TOP_UP
        posting = ledger_post(
            wallet_id=topup.wallet_id,
            kind=kind,
            amount=amount,
            idempotency_key=f"stripe:{stripe_key}",
            reference=topup.reference,
            memo=f"Stripe {stripe_key}",
            created_by=topup.created_by,
        )
        topup.status, topup.amount_paid, topup.posting = TopUp.Status.SUCCEEDED, amount, posting.transaction
        topup.failure_reason = ""
        topup.save(update_fields=["status", "amount_paid", "posting", "failure_reason", "updated_at"])
    return topup


def _topup_close(*, topup_id: int, status: str, reason: str = "", payment_intent_id: str | None = None) -> bool:
    """Move a pending top-up to failed/expired; False when it had already left pending."""
    with transaction.atomic():
        topup = TopUp.objects.select_for_update().select_related("wallet__workspace").get(pk=topup_id)
        if topup.status != TopUp.Status.PENDING:
            return False
        topup.status, topup.failure_reason = status, reason
        topup.payment_intent_id = topup.payment_intent_id or payment_intent_id
        topup.save(update_fields=["status", "failure_reason", "payment_intent_id", "updated_at"])
        if topup.kind == TopUp.Kind.AUTO and status == TopUp.Status.FAILED:
            wallet = topup.wallet
            admins_notify(
                workspace=wallet.workspace,
                subject=f"Auto top-up failed: {wallet.get_kind_display()} wallet",
                body=(
                    f"We could not charge your saved card {format_usd(topup.amount)} for the "
                    f"{wallet.get_kind_display()} wallet. Stripe said: {reason}\n\n"
                    "No credit was added. Update your card, or top up manually, to keep messaging running."
                ),
            )
    return True


def checkout_session_settle(*, session: dict, card: dict | None = None) -> str:
    """Apply what Stripe says about a Checkout Session; safe to repeat and in any order.
    For a setup session, `card` is its payment method, fetched beforehand (saved_card_fetch)."""
    if session.get("mode") == "setup":
        return saved_card_apply(session=session, card=card)
    topup = _topup_matching(stripe_field="checkout_session_id", obj=session, kind=TopUp.Kind.MANUAL)
    if session.get("payment_status") == "paid":
        _topup_credit(
            topup_id=topup.id,
            cents=session["amount_total"],
            currency=session["currency"],
            stripe_key=f"checkout:{session['id']}",
        )
        if session.get("payment_intent"):
            # The receipt names the Stripe payment; the session knows it once paid.
            TopUp.objects.filter(pk=topup.id, payment_intent_id__isnull=True).update(
                payment_intent_id=session["payment_intent"]
            )
        return f"credited top-up {topup.id}"
    if session.get("status") == "expired":
        _topup_close(topup_id=topup.id, status=TopUp.Status.EXPIRED, reason="Checkout session expired")
        return f"expired top-up {topup.id}"
    return f"top-up {topup.id} not paid yet"


def checkout_session_failed(*, session: dict) -> str:
    """`checkout.session.async_payment_failed`: the delayed payment did not go through."""
    topup = _topup_matching(stripe_field="checkout_session_id", obj=session, kind=TopUp.Kind.MANUAL)
    _topup_close(topup_id=topup.id, status=TopUp.Status.FAILED, reason="The payment failed after checkout.")
    return f"failed top-up {topup.id}"


def topup_session_sync(*, topup: TopUp) -> TopUp:
    """The success page asks Stripe itself: whichever of this and the webhook comes first credits."""
    if topup.status == TopUp.Status.PENDING and topup.checkout_session_id:
        session = stripe_client().v1.checkout.sessions.retrieve(topup.checkout_session_id)
        try:
            checkout_session_settle(session=session.to_dict())
        except PaymentRefused:
            logger.exception("Checkout session %s refused on the success page", topup.checkout_session_id)
        topup.refresh_from_db()
    return topup


def topup_checkout_cancel(*, topup: TopUp) -> TopUp:
    """The payer came back through Checkout's cancel link. Expire the session at Stripe so the
    page cannot be paid later, then close the top-up as cancelled; a session that was paid in
    the meantime (another tab) is credited instead. Safe to repeat: reloads change nothing."""
    if topup.status != TopUp.Status.PENDING or not topup.checkout_session_id:
        return topup
    sessions = stripe_client().v1.checkout.sessions
    try:
        session = sessions.expire(topup.checkout_session_id).to_dict()
    except stripe.InvalidRequestError:
        # Only an open session can be expired: this one is complete or expired already.
        session = sessions.retrieve(topup.checkout_session_id).to_dict()
    if session.get("payment_status") == "paid":
        checkout_session_settle(session=session)
    else:
        _topup_close(topup_id=topup.id, status=TopUp.Status.CANCELLED, reason="Cancelled on the payment page")
    topup.refresh_from_db()
    return topup


# --- saved card ----------------------------------------------------------------------


def saved_card_checkout_start(*, workspace: Workspace, base_url: str, return_path: str = "") -> str:
    """A setup-mode Checkout Session; both its exits lead back to `return_path` (a path on this
    site, the page that asked), else the billing overview."""
    customer = stripe_customer_ensure(workspace=workspace)
    return_path = return_path or reverse("billing_overview", args=[workspace.slug])
    back = _absolute(base_url, reverse("payments:card_saved", args=[workspace.slug]))
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": customer.stripe_id,
            "currency": "usd",
            "payment_method_types": ["card"],
            "metadata": {"purpose": "save_card", "workspace_id": str(workspace.id)},
            "success_url": back + "?" + urlencode({"next": return_path}) + "&session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": _absolute(base_url, return_path),
        }
    )
    return session.url


def _setup_session_customer(*, session: dict) -> StripeCustomer:
    customer = StripeCustomer.objects.filter(stripe_id=session.get("customer") or "").first()
    if customer is None:
        raise PaymentRefused(f"setup session {session['id']} is for an unknown customer")
    if str((session.get("metadata") or {}).get("workspace_id")) != str(customer.workspace_id):
        raise PaymentRefused(f"setup session {session['id']} does not belong to workspace {customer.workspace_id}")
    return customer


def saved_card_fetch(*, session: dict) -> dict | None:
    """The payment method a completed setup session saved (Stripe reads, outside any transaction)."""
    if session.get("mode") != "setup" or session.get("status") != "complete" or not session.get("setup_intent"):
        return None
    _setup_session_customer(session=session)
    client = stripe_client()
    setup_intent = client.v1.setup_intents.retrieve(session["setup_intent"])
    method = client.v1.payment_methods.retrieve(setup_intent.payment_method)
    return {"id": method.id, "brand": method.card.brand, "last4": method.card.last4}


def saved_card_apply(*, session: dict, card: dict | None) -> str:
    """A completed setup-mode session: its card becomes the workspace's saved card."""
    customer = _setup_session_customer(session=session)
    if card is None:
        return "setup not complete"
    StripeCustomer.objects.filter(pk=customer.pk).update(
        payment_method_id=card["id"], card_brand=card["brand"], card_last4=card["last4"]
    )
    return f"saved card {card['brand']} {card['last4']}"


CHECKOUT_SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,250}")


def saved_card_sync(*, session_id: str) -> str:
    """The return page after saving a card asks Stripe itself, like the top-up success page.
    The id comes from the browser: anything but a Checkout Session id (empty, or a path that
    would reach another Stripe endpoint) is refused before Stripe is called."""
    if not CHECKOUT_SESSION_ID.fullmatch(session_id):
        raise PaymentRefused(f"{session_id[:40]!r} is not a Checkout Session id")
    session = stripe_client().v1.checkout.sessions.retrieve(session_id).to_dict()
    return saved_card_apply(session=session, card=saved_card_fetch(session=session))


def saved_card_remove(*, workspace: Workspace) -> None:
    """Detach the card at Stripe and turn auto top-up off (it has nothing left to charge)."""
    customer = StripeCustomer.objects.filter(workspace=workspace).first()
    if customer is None or not customer.has_saved_card:
        raise PaymentError("There is no saved card to remove.")
    stripe_client().v1.payment_methods.detach(customer.payment_method_id)
    with transaction.atomic():
        StripeCustomer.objects.filter(pk=customer.pk).update(payment_method_id="", card_brand="", card_last4="")
        AutoTopUpRule.objects.filter(wallet__workspace=workspace).update(enabled=False)


# --- auto top-up ---------------------------------------------------------------------


def _has_saved_card(*, workspace_id: int) -> bool:
    return StripeCustomer.objects.filter(workspace_id=workspace_id).exclude(payment_method_id="").exists()


def _threshold_parse(*, wallet: Wallet, raw: object) -> Decimal:
    try:
        threshold = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation as exc:
        raise PaymentError(f"{raw!r} is not an amount.") from exc
    if wallet.kind == Wallet.Kind.WHATSAPP and threshold not in AutoTopUpRule.WHATSAPP_THRESHOLDS:
        allowed = " / ".join(format_usd(t) for t in AutoTopUpRule.WHATSAPP_THRESHOLDS)
        raise PaymentError(f"The WhatsApp threshold is one of {allowed}.")
    if not threshold.is_finite() or threshold < 0 or threshold != threshold.quantize(CENT):
        raise PaymentError("The minimum balance is an amount in dollars and cents, zero or more.")
    return threshold


def auto_top_up_rule_save(
    *, wallet: Wallet, enabled: bool, threshold: object, amount: object, user: AbstractBaseUser | None
) -> AutoTopUpRule:
    problems = []
    try:
        amount = topup_amount_parse(amount)
    except PaymentError as exc:
        problems += exc.problems
    try:
        threshold = _threshold_parse(wallet=wallet, raw=threshold)
    except PaymentError as exc:
        problems += exc.problems
    if enabled and not _has_saved_card(workspace_id=wallet.workspace_id):
        problems.append("Save a card first: auto top-up charges your saved card.")
    if problems:
        raise PaymentError(*problems)
    rule, _ = AutoTopUpRule.objects.update_or_create(
        wallet=wallet,
        defaults={"enabled": enabled, "threshold": threshold, "amount": amount, "updated_by": user},
    )
    if enabled and wallet.balance < threshold:
        auto_top_up_queue(wallet_id=wallet.id)
    return rule


def auto_top_up_queue(*, wallet_id: int) -> None:
    from payments.tasks import auto_top_up_run

    transaction.on_commit(lambda: auto_top_up_run.delay(wallet_id))


def auto_top_up_start(*, wallet_id: int) -> TopUp | None:
    """Open the wallet's one in-flight auto top-up, if the rule and the backoff allow it."""
    now = timezone.now()
    with transaction.atomic():
        # The rule row lock serialises racing workers; the partial unique index backs it up.
        rule = AutoTopUpRule.objects.select_for_update().filter(wallet_id=wallet_id, enabled=True).first()
        if rule is None:
            return None
        attempts = TopUp.objects.filter(wallet_id=wallet_id, kind=TopUp.Kind.AUTO)
        # Pending first, balance second: a pending top-up can only turn into a credit
        # while we hold the lock, and a credit commits with its balance, so reading in
        # this order never sees "not pending" together with the balance from before it.
        if attempts.filter(status=TopUp.Status.PENDING).exists():
            return None
        wallet = Wallet.objects.get(pk=wallet_id)
        if wallet.balance >= rule.threshold:
            return None
        if not _has_saved_card(workspace_id=wallet.workspace_id):
            return None
        retry_after = now - timedelta(seconds=settings.AUTO_TOP_UP_RETRY_AFTER)
        if attempts.filter(status=TopUp.Status.FAILED, created_at__gte=retry_after).exists():
            return None
        if attempts.filter(created_at__gte=now - timedelta(days=1)).count() >= settings.AUTO_TOP_UP_MAX_PER_DAY:
            logger.warning("Wallet %s reached %s auto top-ups today", wallet_id, settings.AUTO_TOP_UP_MAX_PER_DAY)
            return None
        try:
            with transaction.atomic():
                return TopUp.objects.create(wallet=wallet, kind=TopUp.Kind.AUTO, amount=rule.amount)
        except IntegrityError:
            return None


def _decline_reason(error: stripe.StripeError) -> str:
    code = getattr(error, "code", None)
    if code == "authentication_required":
        return NEEDS_AUTHENTICATION
    message = getattr(error, "user_message", None) or str(error)
    decline_code = (getattr(error, "error", None) and error.error.decline_code) or code
    return f"{message} ({decline_code})" if decline_code else message


def auto_top_up_charge(*, topup_id: int) -> TopUp:
    """Charge the saved card off-session; the same top-up always sends the same Idempotency-Key."""
    topup = TopUp.objects.select_related("wallet__workspace__stripe_customer").get(pk=topup_id)
    if topup.status != TopUp.Status.PENDING:
        return topup
    customer = topup.wallet.workspace.stripe_customer
    try:
        intent = stripe_client().v1.payment_intents.create(
            params={
                "amount": to_cents(topup.amount),
                "currency": "usd",
                "customer": customer.stripe_id,
                "payment_method": customer.payment_method_id,
                "off_session": True,
                "confirm": True,
                "description": f"Auto top-up of the {topup.wallet.get_kind_display()} wallet",
                "metadata": {"topup_id": str(topup.id), "wallet_id": str(topup.wallet_id)},
            },
            options={"idempotency_key": _idempotency_key("auto-topup", topup.id, topup.created_at)},
        )
    except stripe.CardError as exc:
        intent_id = exc.error.payment_intent.id if exc.error and exc.error.payment_intent else None
        _topup_close(
            topup_id=topup.id, status=TopUp.Status.FAILED, reason=_decline_reason(exc), payment_intent_id=intent_id
        )
        topup.refresh_from_db()
        return topup
    TopUp.objects.filter(pk=topup.pk, payment_intent_id__isnull=True).update(payment_intent_id=intent.id)
    payment_intent_settle(intent=intent.to_dict())
    topup.refresh_from_db()
    return topup


def payment_intent_settle(*, intent: dict) -> str:
    """Apply what Stripe says about an auto top-up's PaymentIntent; safe to repeat and in any order."""
    metadata = intent.get("metadata") or {}
    if "topup_id" not in metadata:
        return "not an auto top-up (Checkout payments settle through their session)"
    topup = _topup_matching(stripe_field="payment_intent_id", obj=intent, kind=TopUp.Kind.AUTO)
    if intent.get("status") == "succeeded":
        _topup_credit(
            topup_id=topup.id,
            cents=intent["amount_received"],
            currency=intent["currency"],
            stripe_key=f"payment_intent:{intent['id']}",
        )
        return f"credited top-up {topup.id}"
    error = intent.get("last_payment_error") or {}
    if intent.get("status") in ("requires_payment_method", "requires_action", "canceled"):
        if error.get("code") == "authentication_required" or intent["status"] == "requires_action":
            reason = NEEDS_AUTHENTICATION
        else:
            reason = f"{error.get('message', 'The payment failed.')} ({error.get('decline_code') or error.get('code')})"
        _topup_close(topup_id=topup.id, status=TopUp.Status.FAILED, reason=reason)
        return f"failed top-up {topup.id}"
    return f"top-up {topup.id} still {intent.get('status')}"


# --- webhooks ------------------------------------------------------------------------


def stripe_event_store(*, event: dict) -> StripeEvent:
    """Store a verified event before processing it; a duplicate returns the stored one."""
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(stripe_id=event["id"], type=event["type"], payload=event)
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=event["id"])


def _event_apply(event_type: str, obj: dict, card: dict | None) -> str:
    if event_type in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.expired",
    ):
        return checkout_session_settle(session=obj, card=card)
    if event_type == "checkout.session.async_payment_failed":
        return checkout_session_failed(session=obj)
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return payment_intent_settle(intent=obj)
    if event_type == "charge.refunded":
        # Refunds are finance's: imported here, as finance itself builds on payments.
        from finance.services import refunds_confirm_from_charge

        return refunds_confirm_from_charge(charge=obj)
    return "ignored"


def stripe_event_process(*, event_id: int) -> str:
    """Process a stored event at most once. Concurrent deliveries wait on the event row,
    then find it processed; the ledger's idempotency key is a second guard."""
    event = StripeEvent.objects.get(pk=event_id)
    if event.processed_at is not None:
        return event.outcome
    obj = event.payload["data"]["object"]
    try:
        card = saved_card_fetch(session=obj) if event.type.startswith("checkout.session.") else None
    except PaymentRefused:
        card = None  # refused again, and recorded, inside the transaction below
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_id)
        if event.processed_at is not None:
            return event.outcome
        try:
            with transaction.atomic():
                outcome, error = _event_apply(event.type, obj, card), ""
        except PaymentRefused as exc:
            logger.error("Stripe event %s refused: %s", event.stripe_id, exc)
            outcome, error = f"refused: {exc}", str(exc)
        event.processed_at, event.outcome, event.error = timezone.now(), outcome[:255], error
        event.attempts += 1
        event.save(update_fields=["processed_at", "outcome", "error", "attempts"])
    return outcome


def stripe_event_fail(*, event_id: int, error: str) -> None:
    """Record why processing failed; the event stays unprocessed so Stripe's retry can succeed."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_id)
        event.attempts += 1
        event.error = error
        event.save(update_fields=["attempts", "error"])


# --- reconciliation ------------------------------------------------------------------


@dataclass
class ReconcileReport:
    credited: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def payments_reconcile(*, since: datetime) -> ReconcileReport:
    """Settle every recent paid Checkout Session and PaymentIntent (a missed webhook costs
    nothing), retry stuck auto top-ups, and flag credits Stripe does not show as paid."""
    report = ReconcileReport()
    client = stripe_client()
    window = {"created": {"gte": int(since.timestamp())}, "limit": 100}
    paid: set[str] = set()
    credited_before = set(TopUp.objects.filter(status=TopUp.Status.SUCCEEDED).values_list("id", flat=True))

    def settle(kind: str, stripe_id: str, apply) -> None:
        try:
            apply()
        except PaymentRefused as exc:
            report.problems.append(f"{kind} {stripe_id}: {exc}")

    for session in client.v1.checkout.sessions.list(params=window).auto_paging_iter():
        data = session.to_dict()
        if not (data.get("metadata") or {}).get("topup_id"):
            continue
        if data.get("payment_status") == "paid":
            paid.add(f"checkout:{data['id']}")
        settle("session", data["id"], lambda data=data: checkout_session_settle(session=data))
    for intent in client.v1.payment_intents.list(params=window).auto_paging_iter():
        data = intent.to_dict()
        if not (data.get("metadata") or {}).get("topup_id"):
            continue
        if data.get("status") == "succeeded":
            paid.add(f"payment_intent:{data['id']}")
        settle("payment intent", data["id"], lambda data=data: payment_intent_settle(intent=data))

    stuck = TopUp.objects.filter(
        kind=TopUp.Kind.AUTO, status=TopUp.Status.PENDING, created_at__lt=timezone.now() - timedelta(minutes=10)
    )
    for topup_id in stuck.values_list("id", flat=True):
        auto_top_up_charge(topup_id=topup_id)

    for topup in TopUp.objects.filter(status=TopUp.Status.SUCCEEDED, created_at__gte=since).select_related("posting"):
        key = topup.posting.idempotency_key.removeprefix("stripe:")
        if key not in paid:
            report.flagged.append(f"top-up {topup.id} credited {topup.amount_paid} but Stripe shows {key} unpaid")
        elif topup.id not in credited_before:
            report.credited.append(f"top-up {topup.id}: {key}")
    for line in report.flagged:
        logger.error("Reconcile: %s", line)
    return report
