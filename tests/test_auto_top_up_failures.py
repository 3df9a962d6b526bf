"""Every Stripe error class is an outcome of an auto top-up, never an exception: the attempt
ends failed with Stripe's code and a reason, the admins are told, the wallet page says why
auto top-up is paused, and permanent failures pause the card until it is replaced.
The stand-in is made to answer each error as Stripe does."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from payments.models import StripeCustomer, TopUp
from payments.services import auto_top_up_charge, auto_top_up_start, payments_reconcile
from payments.stripe_api import stripe_client
from tests.factories import wallet_of
from tests.stripe_helpers import save_card
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db


def _detach_at_stripe(standin, customer: StripeCustomer) -> None:
    """Someone removed the card in the Stripe Dashboard."""
    stripe_client().v1.payment_methods.detach(customer.payment_method_id)


def _delete_customer_at_stripe(standin, customer: StripeCustomer) -> None:
    stripe_client().v1.customers.delete(customer.stripe_id)


def _use_another_customers_card(standin, customer: StripeCustomer) -> None:
    other = stripe_client().v1.customers.create(params={"name": "Other"})
    method = standin._payment_method(other.id, "4242424242424242")
    StripeCustomer.objects.filter(pk=customer.pk).update(payment_method_id=method["id"])
    TopUp.objects.filter(status="pending").update(payment_method_id=method["id"])


def _answer(status: int, kind: str, message: str, code: str | None = None, **extra):
    def inject(standin, customer) -> None:
        standin.fail_with(status=status, kind=kind, message=message, code=code, path="/v1/payment_intents", **extra)

    return inject


def _unreachable(standin, customer) -> None:
    from django.conf import settings

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there: the connection is refused


# (how Stripe fails, failure_code recorded, permanent, words of the reason)
STRIPE_ANSWERS = {
    "card_error_soft": (
        _answer(
            402, "card_error", "Your card has insufficient funds.", "card_declined", decline_code="insufficient_funds"
        ),
        "insufficient_funds",
        False,
        "Your card has insufficient funds. (insufficient_funds)",
    ),
    "card_error_lost_card": (
        _answer(402, "card_error", "Your card was declined.", "card_declined", decline_code="lost_card"),
        "lost_card",
        True,
        "Your card was declined. (lost_card)",
    ),
    "card_error_do_not_try_again": (
        _answer(402, "card_error", "Your card was declined.", "card_declined", decline_code="do_not_try_again"),
        "do_not_try_again",
        True,
        "Your card was declined. (do_not_try_again)",
    ),
    "invalid_request_card_detached": (
        _detach_at_stripe,
        "invalid_request_error",
        True,
        "Stripe refused the charge: The provided PaymentMethod was previously used",
    ),
    "invalid_request_customer_deleted": (
        _delete_customer_at_stripe,
        "resource_missing",
        True,
        "Stripe refused the charge: No such customer",
    ),
    "invalid_request_card_of_another_customer": (
        _use_another_customers_card,
        "invalid_request_error",
        True,
        "does not belong to the Customer",
    ),
    "authentication_error": (
        _answer(401, "invalid_request_error", "Invalid API Key provided: sk_live_****"),
        "authentication_error",
        False,
        "Stripe refused our API key",
    ),
    "permission_error": (
        _answer(403, "invalid_request_error", "The provided key does not have access to this resource."),
        "permission_error",
        False,
        "the permission to charge",
    ),
    "rate_limit_error": (
        _answer(429, "invalid_request_error", "Too many requests.", "rate_limit"),
        "rate_limit",
        False,
        "Stripe asked us to slow down",
    ),
    "idempotency_error": (
        _answer(400, "idempotency_error", "Keys for idempotent requests can only be used with the same parameters."),
        "idempotency_error",
        False,
        "Stripe refused a repeated request",
    ),
    "api_error": (
        _answer(500, "api_error", "An unknown error occurred."),
        "api_error",
        False,
        "Stripe had an error",
    ),
    "api_connection_error": (_unreachable, "api_connection_error", False, "Stripe could not be reached"),
}


@pytest.fixture
def below_threshold(owner, workspace, stripe_standin):
    """An SMS wallet at US$5 with auto top-up on below US$20 and a good saved card."""
    wallet = wallet_of(workspace, "sms")
    save_card(stripe_standin, workspace)
    AutoTopUpRule.objects.create(wallet=wallet, enabled=True, threshold=Decimal("20"), amount=Decimal("50"))
    from tests.factories import fund

    fund(wallet, "5", key="opening")
    return wallet


@pytest.mark.parametrize("answer", STRIPE_ANSWERS, ids=list(STRIPE_ANSWERS))
def test_each_stripe_error_ends_the_auto_top_up_failed_with_its_reason_and_tells_the_admins(
    owner_client, workspace, stripe_standin, below_threshold, django_capture_on_commit_callbacks, answer
):
    make_stripe_answer, code, permanent, reason = STRIPE_ANSWERS[answer]
    topup = auto_top_up_start(wallet_id=below_threshold.id)
    make_stripe_answer(stripe_standin, StripeCustomer.objects.get())

    with django_capture_on_commit_callbacks(execute=True):
        result = auto_top_up_charge(topup_id=topup.id)

    assert (result.status, result.failure_code, result.amount_paid, result.posting) == ("failed", code, None, None)
    assert reason in result.failure_reason
    assert not WalletTransaction.objects.filter(kind="auto_top_up").exists()
    below_threshold.refresh_from_db()
    assert below_threshold.balance == Decimal("5.000000")
    (notice,) = mail.outbox
    assert notice.subject == "[Acme] Auto top-up failed: SMS wallet"
    customer = StripeCustomer.objects.get()
    assert bool(customer.card_paused_reason) is permanent
    if permanent:
        assert "Auto top-up is paused until you save a new card." in notice.body
    assert auto_top_up_start(wallet_id=below_threshold.id) is None  # backs off, or paused
    stripe_standin.fail_clear()
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()
    assert "Auto top-up paused because" in page
    assert ("Replace card</button> to resume it." in page) is permanent
    assert ledger_verify().problems == []


def test_a_stuck_top_up_failing_at_stripe_does_not_stop_reconcile_charging_the_next(
    workspace, other_workspace, stripe_standin, below_threshold
):
    save_card(stripe_standin, other_workspace)
    other_wallet = wallet_of(other_workspace, "sms")
    stuck = [
        TopUp.objects.create(wallet=wallet, kind="auto", amount=Decimal("50"), payment_method_id=method)
        for wallet, method in (
            (below_threshold, workspace.stripe_customer.payment_method_id),
            (other_wallet, other_workspace.stripe_customer.payment_method_id),
        )
    ]
    TopUp.objects.filter(pk__in=[t.pk for t in stuck]).update(created_at=timezone.now() - timedelta(minutes=30))
    # Only the first stuck top-up (reconcile goes oldest first) meets Stripe's error.
    stripe_standin.fail_with(
        status=500, kind="api_error", message="An unknown error occurred.", path="/v1/payment_intents", times=1
    )

    report = payments_reconcile(since=timezone.now() - timedelta(hours=1))

    first, second = (TopUp.objects.get(pk=t.pk) for t in stuck)
    assert (first.status, first.failure_code) == ("failed", "api_error")
    assert (second.status, second.amount_paid) == ("succeeded", Decimal("50.000000"))
    assert report.problems == []
    assert ledger_verify().problems == []


@pytest.mark.parametrize("answer", STRIPE_ANSWERS, ids=list(STRIPE_ANSWERS))
def test_reconcile_records_each_stripe_error_on_a_stuck_top_up_and_finishes(
    workspace, stripe_standin, below_threshold, answer
):
    make_stripe_answer, code, _, _ = STRIPE_ANSWERS[answer]
    topup = TopUp.objects.create(
        wallet=below_threshold,
        kind="auto",
        amount=Decimal("50"),
        payment_method_id=workspace.stripe_customer.payment_method_id,
    )
    TopUp.objects.filter(pk=topup.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    make_stripe_answer(stripe_standin, StripeCustomer.objects.get())

    report = payments_reconcile(since=timezone.now() - timedelta(hours=1))

    topup.refresh_from_db()
    assert (topup.status, topup.failure_code) == ("failed", code)
    if answer == "api_connection_error":
        # Every call fails alike, the listings too: reported, and no credit is flagged on half a picture.
        assert report.problems and all(line.startswith("listing ") for line in report.problems)
    else:
        assert report.problems == []
    assert report.flagged == []


def test_reconcile_reports_an_unexpected_failure_of_one_top_up_and_goes_on(
    workspace, other_workspace, stripe_standin, below_threshold, monkeypatch
):
    from payments import services

    save_card(stripe_standin, other_workspace)
    broken = TopUp.objects.create(wallet=below_threshold, kind="auto", amount=Decimal("50"))
    fine = TopUp.objects.create(
        wallet=wallet_of(other_workspace, "sms"),
        kind="auto",
        amount=Decimal("20"),
        payment_method_id=other_workspace.stripe_customer.payment_method_id,
    )
    TopUp.objects.update(created_at=timezone.now() - timedelta(minutes=30))
    charge = services.auto_top_up_charge

    def charge_or_break(*, topup_id: int):
        if topup_id == broken.id:
            raise RuntimeError("worker bug")
        return charge(topup_id=topup_id)

    monkeypatch.setattr(services, "auto_top_up_charge", charge_or_break)

    report = services.payments_reconcile(since=timezone.now() - timedelta(hours=1))

    assert report.problems == [f"auto top-up {broken.id}: RuntimeError: worker bug"]
    fine.refresh_from_db()
    assert fine.status == "succeeded"


def test_removing_a_card_stripe_already_detached_removes_it_here_too(owner_client, workspace, stripe_standin):
    save_card(stripe_standin, workspace)
    _detach_at_stripe(stripe_standin, StripeCustomer.objects.get())

    response = owner_client.post(reverse("payments:card_remove", args=["acme"]))

    assert response.status_code == 302
    from django.contrib.messages import get_messages

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Card removed; auto top-up is off until you save a new card."
    ]
    customer = StripeCustomer.objects.get()
    assert (customer.payment_method_id, customer.card_brand, customer.card_last4) == ("", "", "")


def test_a_new_card_ends_the_pause_a_hard_decline_put_on_the_old_one(
    workspace, stripe_standin, below_threshold, django_capture_on_commit_callbacks
):
    topup = auto_top_up_start(wallet_id=below_threshold.id)
    STRIPE_ANSWERS["card_error_lost_card"][0](stripe_standin, None)
    auto_top_up_charge(topup_id=topup.id)
    stripe_standin.fail_clear()
    assert auto_top_up_start(wallet_id=below_threshold.id) is None

    save_card(stripe_standin, workspace, "5555555555554444")
    TopUp.objects.filter(pk=topup.pk).update(created_at=timezone.now() - timedelta(hours=2))  # past the back-off

    again = auto_top_up_start(wallet_id=below_threshold.id)
    assert again is not None
    assert auto_top_up_charge(topup_id=again.id).status == "succeeded"
    assert StripeCustomer.objects.get().card_paused_reason == ""


def test_a_customer_deleted_at_stripe_is_replaced_when_a_card_is_saved_again(
    owner_client, workspace, stripe_standin, below_threshold
):
    gone = StripeCustomer.objects.get().stripe_id
    topup = auto_top_up_start(wallet_id=below_threshold.id)
    _delete_customer_at_stripe(stripe_standin, StripeCustomer.objects.get())
    assert auto_top_up_charge(topup_id=topup.id).failure_code == "resource_missing"

    response = owner_client.post(reverse("payments:card_save", args=["acme"]))

    assert response.status_code == 302
    customer = StripeCustomer.objects.get()
    assert customer.stripe_id != gone and customer.stripe_id.startswith("cus_")
    assert (customer.payment_method_id, customer.card_paused_reason) == ("", "")
    session = stripe_standin.objects[response.url.rsplit("/", 1)[-1]]
    assert session["customer"] == customer.stripe_id
    assert AutoTopUpRule.objects.get().enabled is False  # its card went with the customer
    save_card(stripe_standin, workspace)
    assert StripeCustomer.objects.get().has_saved_card


def test_a_hard_decline_reported_by_webhook_pauses_the_card_too(workspace, stripe_standin, below_threshold):
    from payments.services import payment_intent_settle

    topup = auto_top_up_start(wallet_id=below_threshold.id)
    customer = StripeCustomer.objects.get()
    intent = {
        "id": "pi_declined_later",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "customer": customer.stripe_id,
        "metadata": {"topup_id": str(topup.id)},
        "last_payment_error": {"code": "card_declined", "decline_code": "stolen_card", "message": "Declined."},
    }

    assert payment_intent_settle(intent=intent) == f"failed top-up {topup.id}"

    topup.refresh_from_db()
    assert (topup.status, topup.failure_code, topup.failure_reason) == (
        "failed",
        "stolen_card",
        "Declined. (stolen_card)",
    )
    assert StripeCustomer.objects.get().card_paused_reason == "Declined. (stolen_card)"
