"""Payments: Checkout top-ups, the saved card, auto top-up, webhooks and reconciliation.

Money enters the ledger only here, only through `ledger_post`, and only for an
amount Stripe says it charged: a verified webhook, or an object we fetched from
Stripe ourselves. The idempotency key is derived from the Stripe object, so the
webhook, the success page and the reconcile task credit once between them.
Stripe calls are never made inside a database transaction.
"""

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import stripe
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone

from payments import defaults
from payments.exceptions import PaymentError, PaymentRefused
from payments.models import StripeCustomer, StripeEvent, TopUp
from payments.selectors import auto_top_up_pause
from payments.signals import auto_top_up_failed, auto_top_up_paused, charge_reversal_reported
from payments.stripe_api import stripe_client
from wallets import defaults as wallet_defaults
from wallets.models import AutoTopUpRule, Wallet, WalletTransaction, Workspace
from wallets.money import MoneyInvalid, format_usd, from_cents, money_parse, to_cents
from wallets.services import ledger_post

logger = logging.getLogger(__name__)

NEEDS_AUTHENTICATION = "The card needs authentication, which cannot happen off-session. Please top up manually."


def amount_range_message() -> str:
    return f"A top-up is {format_usd(wallet_defaults.TOP_UP_MIN)} to {format_usd(wallet_defaults.TOP_UP_MAX)}."


def topup_amount_parse(raw: object) -> Decimal:
    """A top-up amount from a person: whole cents, within the top-up bounds (wallets.defaults)."""
    try:
        amount = money_parse(raw, places=2)
    except MoneyInvalid as exc:
        raise PaymentError(f"{exc} {amount_range_message()}") from None
    if not wallet_defaults.TOP_UP_MIN <= amount <= wallet_defaults.TOP_UP_MAX:
        raise PaymentError(f"{format_usd(amount)} is outside the limits. {amount_range_message()}")
    return amount


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


def _checkout_session_create(*, workspace: Workspace, params: dict, idempotency_key: str | None = None):
    """A Checkout Session for the workspace's Stripe customer. A customer deleted at Stripe
    (resource_missing on `customer`) is replaced by a new one, once; its card went with it,
    so the saved card is cleared and auto top-up turned off, as when a card is removed."""
    client = stripe_client()
    customer = stripe_customer_ensure(workspace=workspace)
    try:
        return client.v1.checkout.sessions.create(
            params={**params, "customer": customer.stripe_id},
            options={"idempotency_key": idempotency_key} if idempotency_key else {},
        )
    except stripe.InvalidRequestError as exc:
        if exc.code != "resource_missing" or exc.param != "customer":
            raise
        logger.warning(
            "Stripe customer %s of workspace %s is gone; creating a new one", customer.stripe_id, workspace.id
        )
    replacement = client.v1.customers.create(
        params={"name": workspace.name, "metadata": {"workspace_id": str(workspace.id)}},
        options={"idempotency_key": f"customer-replacing:{customer.stripe_id}"},
    )
    with transaction.atomic():
        StripeCustomer.objects.filter(pk=customer.pk).update(
            stripe_id=replacement.id,
            payment_method_id="",
            card_brand="",
            card_last4="",
            card_paused_reason="",
            card_paused_at=None,
        )
        AutoTopUpRule.objects.filter(wallet__workspace=workspace).update(enabled=False)
    return client.v1.checkout.sessions.create(
        params={**params, "customer": replacement.id},
        options={"idempotency_key": f"{idempotency_key}:{replacement.id}"} if idempotency_key else {},
    )


def _absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def topup_checkout_start(*, wallet: Wallet, amount: object, user: AbstractBaseUser | None, base_url: str) -> str:
    """Create a pending manual TopUp and its Checkout Session; returns the URL to pay at."""
    amount = topup_amount_parse(amount)
    topup = TopUp.objects.create(wallet=wallet, kind=TopUp.Kind.MANUAL, amount=amount, created_by=user)
    slug = wallet.workspace.slug
    success = reverse("payments:topup_success", args=[slug, topup.id]) + "?session_id={CHECKOUT_SESSION_ID}"
    try:
        session = _checkout_session_create(
            workspace=wallet.workspace,
            params={
                "mode": "payment",
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
            idempotency_key=_idempotency_key("topup-checkout", topup.id, topup.created_at),
        )
    except stripe.StripeError as exc:
        TopUp.objects.filter(pk=topup.pk).update(
            status=TopUp.Status.FAILED, failure_reason=str(exc), failure_code=(exc.code or type(exc).__name__)[:64]
        )
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


@dataclass(frozen=True)
class ChargeFailure:
    """How a charge ended without money: Stripe's code, the reason for people, and whether
    the card must not be charged again until it is replaced."""

    code: str
    reason: str
    permanent: bool = False


def _topup_close(
    *, topup_id: int, status: str, failure: ChargeFailure | None = None, payment_intent_id: str | None = None
) -> bool:
    """Move a pending top-up to failed/expired/cancelled; False when it had already left pending.
    A permanent failure of an auto top-up pauses the card it charged."""
    failure = failure or ChargeFailure(code="", reason="")
    with transaction.atomic():
        topup = TopUp.objects.select_for_update().select_related("wallet__workspace").get(pk=topup_id)
        if topup.status != TopUp.Status.PENDING:
            return False
        topup.status, topup.failure_reason, topup.failure_code = status, failure.reason, failure.code[:64]
        topup.payment_intent_id = topup.payment_intent_id or payment_intent_id
        topup.save(update_fields=["status", "failure_reason", "failure_code", "payment_intent_id", "updated_at"])
        if topup.kind == TopUp.Kind.AUTO and status == TopUp.Status.FAILED:
            wallet = topup.wallet
            paused = failure.permanent and saved_card_pause(
                workspace_id=wallet.workspace_id, payment_method_id=topup.payment_method_id, reason=failure.reason
            )
            auto_top_up_failed.send(sender=TopUp, topup=topup, reason=failure.reason, card_paused=bool(paused))
    return True


def checkout_session_settle(*, session: dict, card: dict | None = None) -> str:
    """Apply what Stripe says about a Checkout Session; safe to repeat and in any order.
    For a setup session, `card` is its payment method, fetched beforehand (saved_card_fetch)."""
    if session.get("mode") == "setup":
        return saved_card_apply(session=session, card=card)
    topup = _topup_matching(stripe_field="checkout_session_id", obj=session, kind=TopUp.Kind.MANUAL)
    if session.get("payment_status") == "paid":
        if session.get("payment_intent"):
            # Refunds and disputes at Stripe name the PaymentIntent: it leads them to this top-up.
            TopUp.objects.filter(pk=topup.id, payment_intent_id__isnull=True).update(
                payment_intent_id=session["payment_intent"]
            )
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
        _topup_close(
            topup_id=topup.id,
            status=TopUp.Status.EXPIRED,
            failure=ChargeFailure(code="expired", reason="Checkout session expired"),
        )
        return f"expired top-up {topup.id}"
    return f"top-up {topup.id} not paid yet"


def checkout_session_failed(*, session: dict) -> str:
    """`checkout.session.async_payment_failed`: the delayed payment did not go through."""
    topup = _topup_matching(stripe_field="checkout_session_id", obj=session, kind=TopUp.Kind.MANUAL)
    _topup_close(
        topup_id=topup.id,
        status=TopUp.Status.FAILED,
        failure=ChargeFailure(code="async_payment_failed", reason="The payment failed after checkout."),
    )
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
        _topup_close(
            topup_id=topup.id,
            status=TopUp.Status.CANCELLED,
            failure=ChargeFailure(code="cancelled", reason="Cancelled on the payment page"),
        )
    topup.refresh_from_db()
    return topup


# --- saved card ----------------------------------------------------------------------


def saved_card_checkout_start(*, workspace: Workspace, base_url: str, return_path: str = "") -> str:
    """A setup-mode Checkout Session; both its exits lead back to `return_path` (a path on this
    site, the page that asked), else the billing overview."""
    return_path = return_path or reverse("billing_overview", args=[workspace.slug])
    back = _absolute(base_url, reverse("payments:card_saved", args=[workspace.slug]))
    session = _checkout_session_create(
        workspace=workspace,
        params={
            "mode": "setup",
            "currency": "usd",
            "payment_method_types": ["card"],
            "metadata": {"purpose": "save_card", "workspace_id": str(workspace.id)},
            "success_url": back + "?" + urlencode({"next": return_path}) + "&session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": _absolute(base_url, return_path),
        },
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
    """A completed setup-mode session: its card becomes the workspace's saved card, and a
    pause that belonged to the old card ends with it."""
    customer = _setup_session_customer(session=session)
    if card is None:
        return "setup not complete"
    StripeCustomer.objects.filter(pk=customer.pk).update(
        payment_method_id=card["id"],
        card_brand=card["brand"],
        card_last4=card["last4"],
        card_paused_reason="",
        card_paused_at=None,
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


# Stripe's answers to a detach when the card is already off the customer: gone from the
# customer at Stripe means gone here too.
ALREADY_DETACHED_CODES = ("resource_missing", "payment_method_unexpected_state")


def saved_card_remove(*, workspace: Workspace) -> None:
    """Detach the card at Stripe and turn auto top-up off (it has nothing left to charge)."""
    customer = StripeCustomer.objects.filter(workspace=workspace).first()
    if customer is None or not customer.has_saved_card:
        raise PaymentError("There is no saved card to remove.")
    try:
        stripe_client().v1.payment_methods.detach(customer.payment_method_id)
    except stripe.InvalidRequestError as exc:
        if exc.code not in ALREADY_DETACHED_CODES:
            raise
        logger.info("Card %s was already detached at Stripe: %s", customer.payment_method_id, exc)
    with transaction.atomic():
        StripeCustomer.objects.filter(pk=customer.pk).update(
            payment_method_id="", card_brand="", card_last4="", card_paused_reason="", card_paused_at=None
        )
        AutoTopUpRule.objects.filter(wallet__workspace=workspace).update(enabled=False)


def saved_card_pause(*, workspace_id: int, payment_method_id: str, reason: str) -> bool:
    """Stop charging this card until a new one is saved; False if it is no longer the saved
    card (replaced meanwhile: the new card is not to blame)."""
    return bool(
        StripeCustomer.objects.filter(workspace_id=workspace_id, payment_method_id=payment_method_id)
        .exclude(payment_method_id="")
        .update(card_paused_reason=reason[:500], card_paused_at=timezone.now())
    )


# --- auto top-up ---------------------------------------------------------------------


def _has_saved_card(*, workspace_id: int) -> bool:
    return StripeCustomer.objects.filter(workspace_id=workspace_id).exclude(payment_method_id="").exists()


def _monthly_cap_parse(raw: object, *, amount: Decimal | None) -> Decimal | None:
    """Empty means no cap; otherwise at least one top-up, so the cap can ever allow one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        cap = money_parse(raw, places=2)
    except MoneyInvalid as exc:
        raise PaymentError(f"The monthly cap: {exc}") from None
    if amount is not None and cap < amount:
        raise PaymentError(f"The monthly cap must be at least one auto top-up ({format_usd(amount)}), or empty.")
    return cap


def _threshold_parse(*, wallet: Wallet, raw: object) -> Decimal:
    try:
        threshold = money_parse(raw, places=2)
    except MoneyInvalid as exc:
        raise PaymentError(f"The minimum balance: {exc}") from None
    thresholds = wallet_defaults.WHATSAPP_AUTO_TOP_UP_THRESHOLDS
    if wallet.kind == Wallet.Kind.WHATSAPP and threshold not in thresholds:
        allowed = " / ".join(format_usd(t) for t in thresholds)
        raise PaymentError(f"The WhatsApp threshold is one of {allowed}.")
    return threshold


def auto_top_up_rule_save(
    *,
    wallet: Wallet,
    enabled: bool,
    threshold: object,
    amount: object,
    user: AbstractBaseUser | None,
    monthly_cap: object = "",
    refused: Sequence[str] = (),
) -> AutoTopUpRule:
    """Every problem at once, so the dialog lists them all rather than one per attempt.
    `refused`: what the caller's form already refused; those fields come as None and are not
    checked again, the others are."""
    problems = list(refused)

    def check(parse: Callable[[], Decimal | None], raw: object) -> Decimal | None:
        if raw is None and refused:
            return None
        try:
            return parse()
        except PaymentError as exc:
            problems.extend(exc.problems)
            return None

    amount = check(lambda: topup_amount_parse(amount), amount)
    threshold = check(lambda: _threshold_parse(wallet=wallet, raw=threshold), threshold)
    cap = check(lambda: _monthly_cap_parse(monthly_cap, amount=amount), monthly_cap)
    if enabled and not _has_saved_card(workspace_id=wallet.workspace_id):
        problems.append("Save a card first: auto top-up charges your saved card.")
    if problems:
        raise PaymentError(*problems)
    rule, _ = AutoTopUpRule.objects.update_or_create(
        wallet=wallet,
        defaults={"enabled": enabled, "threshold": threshold, "amount": amount, "monthly_cap": cap, "updated_by": user},
    )
    if enabled and wallet.balance < threshold:
        auto_top_up_queue(wallet_id=wallet.id)
    return rule


def auto_top_up_queue(*, wallet_id: int) -> None:
    from payments.tasks import auto_top_up_run

    transaction.on_commit(lambda: auto_top_up_run.delay(wallet_id))


def auto_top_up_start(*, wallet_id: int) -> TopUp | None:
    """Open the wallet's one in-flight auto top-up, if the rule and the retry policy allow it."""
    with transaction.atomic():
        # The rule row lock serialises racing workers; the partial unique index backs it up.
        rule = AutoTopUpRule.objects.select_for_update().filter(wallet_id=wallet_id, enabled=True).first()
        if rule is None:
            return None
        # Pending first, balance second: a pending top-up can only turn into a credit
        # while we hold the lock, and a credit commits with its balance, so reading in
        # this order never sees "not pending" together with the balance from before it.
        if TopUp.objects.filter(wallet_id=wallet_id, kind=TopUp.Kind.AUTO, status=TopUp.Status.PENDING).exists():
            return None
        wallet = Wallet.objects.get(pk=wallet_id)
        if wallet.balance >= rule.threshold:
            return None
        customer = StripeCustomer.objects.filter(workspace_id=wallet.workspace_id).first()
        pause = auto_top_up_pause(wallet=wallet, rule=rule, customer=customer, now=timezone.now())
        if pause is not None:
            logger.info("Auto top-up of wallet %s paused: %s", wallet_id, pause.reason)
            auto_top_up_paused.send(sender=TopUp, wallet=wallet, reason=pause.reason, until=pause.until)
            return None
        try:
            with transaction.atomic():
                return TopUp.objects.create(
                    wallet=wallet,
                    kind=TopUp.Kind.AUTO,
                    amount=rule.amount,
                    payment_method_id=customer.payment_method_id,
                )
        except IntegrityError:
            return None


def auto_top_up_sweep() -> list[int]:
    """Beat: queue the top-up of every wallet below its threshold with auto top-up on and
    nothing in flight, so a task lost with its worker costs minutes, not the broker's
    visibility timeout. auto_top_up_start decides again under the lock."""
    in_flight = TopUp.objects.filter(wallet_id=OuterRef("wallet_id"), kind=TopUp.Kind.AUTO, status=TopUp.Status.PENDING)
    below = AutoTopUpRule.objects.filter(enabled=True, wallet__balance__lt=F("threshold")).exclude(Exists(in_flight))
    wallet_ids = list(below.values_list("wallet_id", flat=True).order_by("wallet_id"))
    for wallet_id in wallet_ids:
        auto_top_up_queue(wallet_id=wallet_id)
    return wallet_ids


_TEMPORARY_FAILURES: tuple[tuple[type[stripe.StripeError], str, str], ...] = (
    # (error class, code when Stripe gives none, what the admin reads)
    (stripe.RateLimitError, "rate_limit", "Stripe asked us to slow down; we will try again later."),
    (
        stripe.APIConnectionError,
        "api_connection_error",
        "Stripe could not be reached; we will check with Stripe and try again later.",
    ),
    (
        stripe.AuthenticationError,
        "authentication_error",
        "Stripe refused our API key; our team has been told and we will try again later.",
    ),
    (
        stripe.PermissionError,
        "permission_error",
        "Stripe refused our API key the permission to charge; we will try again later.",
    ),
    (
        stripe.IdempotencyError,
        "idempotency_error",
        "Stripe refused a repeated request; we will try again later with a new one.",
    ),
)


def _card_decline(*, code: str | None, decline_code: str | None, message: str) -> ChargeFailure:
    """A decline, from a CardError or a PaymentIntent's last_payment_error: hard ones are permanent."""
    if code == "authentication_required":
        return ChargeFailure(code="authentication_required", reason=NEEDS_AUTHENTICATION)
    decline = decline_code or code or "card_declined"
    return ChargeFailure(
        code=decline, reason=f"{message} ({decline})", permanent=decline in defaults.HARD_DECLINE_CODES
    )


def charge_failure_from_error(error: stripe.StripeError) -> ChargeFailure:
    """Every Stripe error class is an outcome of the attempt. Permanent: a hard decline, or a
    request Stripe refuses as invalid (card detached or another customer's, customer deleted),
    which no retry fixes without a new card. Everything else is temporary and backs off."""
    if isinstance(error, stripe.CardError):
        return _card_decline(
            code=error.code,
            decline_code=error.error.decline_code if error.error else None,
            message=error.user_message or str(error),
        )
    if isinstance(error, stripe.InvalidRequestError):
        return ChargeFailure(
            code=error.code or "invalid_request_error",
            reason=f"Stripe refused the charge: {error.user_message or str(error)}",
            permanent=True,
        )
    for error_class, code, reason in _TEMPORARY_FAILURES:
        if isinstance(error, error_class):
            return ChargeFailure(code=error.code or code, reason=reason)
    return ChargeFailure(code=error.code or "api_error", reason="Stripe had an error; we will try again later.")


def auto_top_up_charge(*, topup_id: int) -> TopUp:
    """Charge the saved card off-session; the same top-up always sends the same Idempotency-Key.
    Whatever Stripe answers, the attempt ends recorded: credited, or failed with its reason.
    A failure whose outcome is unknown (no answer) is safe to close: if Stripe did charge,
    its webhook or reconcile credits this same top-up from the PaymentIntent's metadata."""
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
                "payment_method": topup.payment_method_id or customer.payment_method_id,
                "off_session": True,
                "confirm": True,
                "description": f"Auto top-up of the {topup.wallet.get_kind_display()} wallet",
                "metadata": {"topup_id": str(topup.id), "wallet_id": str(topup.wallet_id)},
            },
            options={"idempotency_key": _idempotency_key("auto-topup", topup.id, topup.created_at)},
        )
    except stripe.StripeError as exc:
        logger.warning("Auto top-up %s: Stripe answered %s: %s", topup.id, type(exc).__name__, exc)
        stripe_error = getattr(exc, "error", None)
        intent_id = stripe_error.payment_intent.id if stripe_error and stripe_error.payment_intent else None
        _topup_close(
            topup_id=topup.id,
            status=TopUp.Status.FAILED,
            failure=charge_failure_from_error(exc),
            payment_intent_id=intent_id,
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
        failure = _card_decline(
            code="authentication_required" if intent["status"] == "requires_action" else error.get("code"),
            decline_code=error.get("decline_code"),
            message=error.get("message") or "The payment failed.",
        )
        _topup_close(topup_id=topup.id, status=TopUp.Status.FAILED, failure=failure)
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


REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")


def _event_fetch(event_type: str, obj: dict) -> dict | list | None:
    """What processing needs from Stripe beyond the event, read before the transaction:
    a setup session's card, or the refunds of a refunded charge (its event names none)."""
    if event_type.startswith("checkout.session."):
        return saved_card_fetch(session=obj)
    if event_type == "charge.refunded" and obj.get("payment_intent"):
        listed = stripe_client().v1.refunds.list(params={"payment_intent": obj["payment_intent"], "limit": 100})
        return [refund.to_dict() for refund in listed.auto_paging_iter()]
    return None


def _reversal_report(kind: str, obj: dict, fetched: list | None = None) -> str:
    """Money Stripe takes back from a top-up's charge (a refunded charge, a refund, a dispute) is
    finance's to judge and post (finance builds on payments): its receiver answers for it."""
    outcomes = charge_reversal_reported.send(sender=StripeEvent, kind=kind, obj=obj, fetched=fetched or [])
    return "; ".join(outcome for _, outcome in outcomes if outcome) or "ignored"


def _event_apply(event_type: str, obj: dict, fetched: dict | list | None) -> str:
    if event_type in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.expired",
    ):
        return checkout_session_settle(session=obj, card=fetched)
    if event_type == "checkout.session.async_payment_failed":
        return checkout_session_failed(session=obj)
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return payment_intent_settle(intent=obj)
    if event_type == "charge.refunded":
        return _reversal_report("charge", obj, fetched)
    if event_type in REFUND_EVENTS:
        return _reversal_report("refund", obj)
    if event_type in DISPUTE_EVENTS:
        return _reversal_report("dispute", obj)
    return "ignored"


def stripe_event_process(*, event_id: int) -> str:
    """Process a stored event at most once. Concurrent deliveries wait on the event row,
    then find it processed; the ledger's idempotency key is a second guard."""
    event = StripeEvent.objects.get(pk=event_id)
    if event.processed_at is not None:
        return event.outcome
    obj = event.payload["data"]["object"]
    try:
        fetched = _event_fetch(event.type, obj)
    except PaymentRefused:
        fetched = None  # refused again, and recorded, inside the transaction below
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_id)
        if event.processed_at is not None:
            return event.outcome
        try:
            with transaction.atomic():
                outcome, error = _event_apply(event.type, obj, fetched), ""
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
    # Stripe's lists could not be read: the run did what it could, but is not complete.
    listing_error: stripe.StripeError | None = None


def _reconcile_step(report: ReconcileReport, label: str, step: Callable[[], object]) -> None:
    """One object's work; whatever goes wrong is logged and reported, and the run goes on."""
    try:
        step()
    except PaymentRefused as exc:
        report.problems.append(f"{label}: {exc}")
    except Exception as exc:
        logger.exception("Reconcile: %s failed", label)
        report.problems.append(f"{label}: {type(exc).__name__}: {exc}")


def payments_reconcile(*, since: datetime) -> ReconcileReport:
    """Settle every recent paid Checkout Session and PaymentIntent, refund and dispute (a
    missed webhook costs nothing), retry stuck auto top-ups, and flag credits Stripe does
    not show as paid.
    Each object is handled on its own: one failure is reported and never stops the run."""
    report = ReconcileReport()
    client = stripe_client()
    window = {"created": {"gte": int(since.timestamp())}, "limit": 100}
    paid: set[str] = set()
    credited_before = set(TopUp.objects.filter(status=TopUp.Status.SUCCEEDED).values_list("id", flat=True))

    def for_a_top_up(data: dict) -> bool:
        return bool((data.get("metadata") or {}).get("topup_id"))

    def of_a_paid_top_up(data: dict) -> bool:
        intent_id = data.get("payment_intent")
        return (
            bool(intent_id)
            and TopUp.objects.filter(payment_intent_id=intent_id, status=TopUp.Status.SUCCEEDED).exists()
        )

    # (label, ours, ledger key of a paid one, Stripe resource, settle); payments first, so that
    # the refunds and disputes after them find their top-up credited.
    listings = (
        (
            "session",
            for_a_top_up,
            lambda data: f"checkout:{data['id']}" if data.get("payment_status") == "paid" else None,
            client.v1.checkout.sessions,
            lambda data: checkout_session_settle(session=data),
        ),
        (
            "payment intent",
            for_a_top_up,
            lambda data: f"payment_intent:{data['id']}" if data.get("status") == "succeeded" else None,
            client.v1.payment_intents,
            lambda data: payment_intent_settle(intent=data),
        ),
        (
            "refund",
            of_a_paid_top_up,
            lambda data: None,
            client.v1.refunds,
            lambda data: _reversal_report("refund", data),
        ),
        (
            "dispute",
            of_a_paid_top_up,
            lambda data: None,
            client.v1.disputes,
            lambda data: _reversal_report("dispute", data),
        ),
    )
    for label, ours, paid_key, resource, settle in listings:
        try:
            objects = [obj.to_dict() for obj in resource.list(params=window).auto_paging_iter()]
        except stripe.StripeError as exc:
            logger.warning("Reconcile could not list %ss: %s", label, exc)
            report.problems.append(f"listing {label}s: {type(exc).__name__}: {exc}")
            report.listing_error = report.listing_error or exc
            continue
        for data in objects:
            if not ours(data):
                continue
            if key := paid_key(data):
                paid.add(key)
            _reconcile_step(report, f"{label} {data['id']}", lambda settle=settle, data=data: settle(data))

    stuck_before = timezone.now() - defaults.AUTO_TOP_UP_STUCK_AFTER
    stuck = TopUp.objects.filter(kind=TopUp.Kind.AUTO, status=TopUp.Status.PENDING, created_at__lt=stuck_before)
    for topup_id in stuck.order_by("id").values_list("id", flat=True):
        _reconcile_step(
            report, f"auto top-up {topup_id}", lambda topup_id=topup_id: auto_top_up_charge(topup_id=topup_id)
        )

    if report.listing_error is not None:
        return report  # without Stripe's whole list, "unpaid" would be a false alarm
    for topup in TopUp.objects.filter(status=TopUp.Status.SUCCEEDED, created_at__gte=since).select_related("posting"):
        key = topup.posting.idempotency_key.removeprefix("stripe:")
        if key not in paid:
            report.flagged.append(f"top-up {topup.id} credited {topup.amount_paid} but Stripe shows {key} unpaid")
        elif topup.id not in credited_before:
            report.credited.append(f"top-up {topup.id}: {key}")
    for line in report.flagged:
        logger.error("Reconcile: %s", line)
    return report
