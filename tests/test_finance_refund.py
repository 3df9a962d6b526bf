"""Refunds of top-ups through the Stripe stand-in: debited once Stripe confirms, never twice."""

from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import AuditEntry, Refund
from finance.services import FinanceError, refund_issue, refunds_confirm_from_charge
from payments.models import TopUp
from tests.factories import finance_user, wallet_of
from tests.stripe_helpers import events_of, paid_topup, post_event
from wallets.models import WalletTransaction


@pytest.fixture
def finance(db):
    return finance_user()


def test_a_refund_goes_through_stripe_and_posts_one_negative_entry_even_when_the_webhook_comes_twice(
    client, owner_client, workspace, finance, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    client.force_login(finance)

    response = client.post(reverse("finance_refund", args=[topup.pk]), {"amount": "20.00", "reason": "Duplicate"})

    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.status, refund.amount, refund.stripe_refund_id.startswith("re_")) == (
        "succeeded",
        Decimal("20.000000"),
        True,
    )
    (charge_refunded,) = events_of(stripe_standin, "charge.refunded")
    for _ in range(2):
        assert post_event(client, stripe_standin, charge_refunded).status_code == 200
    entry = WalletTransaction.objects.get(kind="refund")
    assert (entry.amount, entry.memo, entry.created_by, entry.idempotency_key) == (
        Decimal("-20.000000"),
        "Duplicate",
        finance,
        f"refund:{refund.pk}",
    )
    wallet = wallet_of(workspace, "whatsapp")
    assert wallet.balance == Decimal("30.000000")
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "refund_requested",
        "refund_posted",
    ]


def test_a_refund_stripe_left_pending_is_posted_by_charge_refunded_once(
    owner_client, workspace, finance, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "40")
    intent = stripe_standin.objects[topup.checkout_session_id]["payment_intent"]
    refund = Refund.objects.create(
        topup=topup, amount=Decimal("15"), reason="Partial", created_by=finance, payment_intent_id=intent
    )
    charge = {"id": "ch_1", "payment_intent": intent, "amount_refunded": 1500}

    assert refunds_confirm_from_charge(charge=charge) == f"confirmed refunds {refund.pk}"
    assert refunds_confirm_from_charge(charge=charge) == "no refund to confirm"

    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert WalletTransaction.objects.get(kind="refund").amount == Decimal("-15.000000")
    assert wallet_of(workspace, "whatsapp").balance == Decimal("25.000000")


def test_charge_refunded_does_not_confirm_a_refund_stripe_has_not_covered(
    owner_client, workspace, finance, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "40")
    intent = stripe_standin.objects[topup.checkout_session_id]["payment_intent"]
    Refund.objects.create(topup=topup, amount=Decimal("15"), reason="x", created_by=finance, payment_intent_id=intent)
    assert refunds_confirm_from_charge(charge={"payment_intent": intent, "amount_refunded": 1000}) == (
        "no refund to confirm"
    )
    assert not WalletTransaction.objects.filter(kind="refund").exists()


def test_refunding_more_than_was_paid_counting_earlier_refunds_is_refused(
    owner_client, workspace, finance, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    refund_issue(topup=topup, amount="30", reason="First", user=finance)
    with pytest.raises(FinanceError, match="more than what is left to refund"):
        refund_issue(topup=topup, amount="20.01", reason="Second", user=finance)
    assert Refund.objects.count() == 1
    assert WalletTransaction.objects.filter(kind="refund").count() == 1
    assert wallet_of(workspace, "whatsapp").balance == Decimal("20.000000")


def test_the_refund_form_shows_the_error_for_an_amount_above_the_paid_amount(
    client, owner_client, workspace, finance, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    client.force_login(finance)
    response = client.post(reverse("finance_refund", args=[topup.pk]), {"amount": "50.01", "reason": "Too much"})
    assert response.status_code == 200
    assert "more than what is left to refund" in response.content.decode()
    assert not Refund.objects.exists()
    assert not events_of(stripe_standin, "charge.refunded")


@pytest.mark.parametrize("status", ["failed", "pending", "expired"])
def test_a_top_up_that_was_not_paid_cannot_be_refunded(workspace, finance, stripe_standin, status):
    topup = TopUp.objects.create(wallet=wallet_of(workspace, "sms"), kind="auto", amount=Decimal("20"), status=status)
    with pytest.raises(FinanceError, match="only paid top-ups refund"):
        refund_issue(topup=topup, amount="5", reason="No", user=finance)
    assert not Refund.objects.exists()
    assert not WalletTransaction.objects.exists()


@pytest.mark.parametrize(("amount", "reason"), [("", "x"), ("0", "x"), ("abc", "x"), ("-5", "x"), ("5", "")])
def test_bad_refund_input_is_refused(owner_client, workspace, finance, stripe_standin, amount, reason):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    with pytest.raises(FinanceError):
        refund_issue(topup=topup, amount=amount, reason=reason, user=finance)
    assert not Refund.objects.exists()


def test_a_refund_over_the_confirmation_amount_is_sent_only_when_confirmed(
    client, owner_client, workspace, finance, stripe_standin, settings
):
    settings.FINANCE_CONFIRM_ABOVE = "30"
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    client.force_login(finance)
    url = reverse("finance_refund", args=[topup.pk])

    asked = client.post(url, {"amount": "40.00", "reason": "Duplicate"})

    assert asked.status_code == 200
    assert "Amounts over US$30.00 either way are confirmed twice. Check US$40.00" in asked.content.decode()
    assert Refund.objects.count() == 0 and stripe_standin.count("refund") == 0

    sent = client.post(url, {"amount": "40.00", "reason": "Duplicate", "confirmed_amount": "40.00"})

    assert sent.status_code == 302
    assert Refund.objects.get().amount == Decimal("40.000000")
    assert WalletTransaction.objects.get(kind="refund").amount == Decimal("-40.000000")
