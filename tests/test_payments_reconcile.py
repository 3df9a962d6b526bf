"""Reconcile: a paid session whose webhook never came is credited, once; a credit Stripe
does not show as paid is flagged."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import TopUp
from payments.services import payments_reconcile
from payments.tasks import reconcile_payments
from tests.factories import wallet_of
from tests.stripe_helpers import session_id_of, start_topup
from wallets.models import WalletTransaction
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db


def test_reconcile_credits_a_paid_session_whose_webhook_never_arrived_exactly_once(
    owner_client, workspace, stripe_standin
):
    url = start_topup(owner_client, workspace, "sms", "500")
    stripe_standin.pay(session_id_of(url.url), "4242424242424242")  # no webhook is delivered in this test
    start_topup(owner_client, workspace, "sms", "20")  # opened, never paid

    first = reconcile_payments()
    second = reconcile_payments()

    paid = TopUp.objects.get(amount=Decimal("500"))
    assert first == {
        "credited": [f"top-up {paid.id}: checkout:{paid.checkout_session_id}"],
        "flagged": [],
        "problems": [],
    }
    assert second == {"credited": [], "flagged": [], "problems": []}
    assert paid.status == "succeeded"
    assert TopUp.objects.get(amount=Decimal("20")).status == "pending"
    assert WalletTransaction.objects.filter(kind="top_up").count() == 1
    assert wallet_of(workspace, "sms").balance == Decimal("500.000000")


def test_reconcile_flags_a_credit_that_stripe_does_not_show_as_paid(owner_client, workspace, stripe_standin):
    start_topup(owner_client, workspace, "sms", "50")
    topup = TopUp.objects.get()
    posting = ledger_post(
        wallet_id=topup.wallet_id,
        kind="top_up",
        amount=Decimal("50"),
        idempotency_key=f"stripe:checkout:{topup.checkout_session_id}",
    )
    TopUp.objects.filter(pk=topup.pk).update(status="succeeded", amount_paid=Decimal("50"), posting=posting.transaction)

    report = payments_reconcile(since=timezone.now() - timedelta(hours=1))

    assert report.flagged == [
        f"top-up {topup.id} credited 50.000000 but Stripe shows checkout:{topup.checkout_session_id} unpaid"
    ]
    assert WalletTransaction.objects.count() == 1
