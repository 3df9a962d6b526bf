"""Money that leaves at Stripe leaves the wallet, once: refunds made in the Stripe Dashboard
and disputes of a top-up's charge, delivered as Stripe delivers them (repeated, out of order)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from payments.models import ChargeReversal, StripeCustomer, TopUp
from payments.stripe_api import stripe_client
from tests.factories import finance_user, wallet_of
from tests.stripe_helpers import events_of, paid_topup, post_event, save_card
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db


def _dashboard_refund(topup: TopUp, cents: int):
    """What the Stripe Dashboard does: a refund with none of the portal's metadata."""
    return stripe_client().v1.refunds.create(params={"payment_intent": topup.payment_intent_id, "amount": cents})


def _deliver(client, standin, *event_types: str) -> None:
    for event_type in event_types:
        for event in events_of(standin, event_type):
            assert post_event(client, standin, event).status_code == 200


def _balance(workspace) -> Decimal:
    return wallet_of(workspace, "whatsapp").balance


def test_a_checkout_top_up_records_its_payment_intent(owner_client, workspace, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")

    assert topup.payment_intent_id == stripe_standin.objects[topup.checkout_session_id]["payment_intent"]


def test_refunds_of_20_and_5_made_at_stripe_debit_the_wallet_once_each_whatever_arrives_twice_or_first(
    client, owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    first = _dashboard_refund(topup, 2000)
    second = _dashboard_refund(topup, 500)

    # Stripe's order reversed, then everything again.
    _deliver(client, stripe_standin, "refund.created", "charge.refunded")
    _deliver(client, stripe_standin, "charge.refunded", "refund.created")

    debits = WalletTransaction.objects.filter(kind="refund").order_by("id")
    assert [(d.amount, d.idempotency_key) for d in debits] == [
        (Decimal("-20.000000"), f"stripe:refund:{first.id}"),
        (Decimal("-5.000000"), f"stripe:refund:{second.id}"),
    ]
    assert _balance(workspace) == Decimal("25.000000")
    reversals = ChargeReversal.objects.order_by("id")
    assert [(r.kind, r.stripe_id, r.amount, r.stripe_status, r.topup_id) for r in reversals] == [
        ("refund", first.id, Decimal("20.000000"), "succeeded", topup.id),
        ("refund", second.id, Decimal("5.000000"), "succeeded", topup.id),
    ]
    assert ledger_verify().problems == []


def test_a_refund_the_portal_made_is_not_debited_again_as_an_outside_one(
    client, owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    finance = finance_user()
    client.force_login(finance)
    client.post(reverse("finance_refund", args=[topup.pk]), {"amount": "20.00", "reason": "Duplicate"})

    _deliver(client, stripe_standin, "charge.refunded", "refund.created")

    assert list(WalletTransaction.objects.filter(kind="refund").values_list("amount", flat=True)) == [
        Decimal("-20.000000")
    ]
    assert not ChargeReversal.objects.exists()
    assert _balance(workspace) == Decimal("30.000000")


def test_an_outside_refund_left_pending_is_debited_and_credited_back_when_it_fails(
    client, owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    stripe_standin.refunds_stay_pending = True
    refund = _dashboard_refund(topup, 1000)
    _deliver(client, stripe_standin, "refund.created")
    assert _balance(workspace) == Decimal("40.000000")

    stripe_standin.refund_finish(refund.id, status="failed", failure_reason="expired_or_canceled_card")
    _deliver(client, stripe_standin, "refund.failed", "refund.updated", "refund.created")

    rows = WalletTransaction.objects.filter(kind="refund").order_by("id")
    assert [(r.amount, r.idempotency_key) for r in rows] == [
        (Decimal("-10.000000"), f"stripe:refund:{refund.id}"),
        (Decimal("10.000000"), f"stripe:refund-failed:{refund.id}"),
    ]
    assert ChargeReversal.objects.get().stripe_status == "failed"  # the late "pending" did not undo it
    assert _balance(workspace) == Decimal("50.000000")


def test_an_outside_refund_whose_failure_arrives_before_its_creation_posts_nothing(
    client, owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    stripe_standin.refunds_stay_pending = True
    refund = _dashboard_refund(topup, 1000)
    stripe_standin.refund_finish(refund.id, status="failed")

    _deliver(client, stripe_standin, "refund.updated", "refund.created")

    assert not WalletTransaction.objects.filter(kind="refund").exists()
    assert _balance(workspace) == Decimal("50.000000")


def test_a_dispute_debits_the_wallet_pauses_auto_top_up_and_tells_finance_and_a_win_credits_it_back(
    client, owner_client, owner, workspace, stripe_standin, django_capture_on_commit_callbacks
):
    finance_user()
    save_card(stripe_standin, workspace)
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    AutoTopUpRule.objects.create(wallet=topup.wallet, enabled=True, threshold=Decimal("20"), amount=Decimal("100"))
    mail.outbox.clear()
    dispute = stripe_standin.dispute_open(payment_intent=topup.payment_intent_id, reason="fraudulent")

    with django_capture_on_commit_callbacks(execute=True):
        _deliver(client, stripe_standin, "charge.dispute.created", "charge.dispute.created")

    debit = WalletTransaction.objects.get(kind="dispute")
    assert (debit.amount, debit.idempotency_key) == (Decimal("-50.000000"), f"stripe:dispute:{dispute['id']}")
    assert _balance(workspace) == Decimal("0.000000")
    customer = StripeCustomer.objects.get()
    assert customer.card_paused_reason == f"a payment was disputed at Stripe ({dispute['id']})"
    subjects = sorted(m.subject for m in mail.outbox)
    # The dispute's own notices, and the alerts of what it did: the balance fell below its
    # alert line, and auto top-up is held back until the card is replaced.
    assert subjects == [
        "[Acme] Auto top-up paused: WhatsApp wallet",
        "[Acme] Payment disputed",
        "[Acme] WhatsApp balance below US$20.00",
        "[Finance] Payment disputed (Acme)",
    ]
    assert TopUp.objects.filter(kind="auto").count() == 0  # the balance fell to 0, the card is paused
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()
    assert f"Auto top-up paused because a payment was disputed at Stripe ({dispute['id']})." in page
    assert "Replace card</button> to resume it." in page

    stripe_standin.dispute_close(dispute["id"], status="won")
    _deliver(client, stripe_standin, "charge.dispute.closed", "charge.dispute.closed", "charge.dispute.created")

    rows = WalletTransaction.objects.filter(kind="dispute").order_by("id")
    assert [(r.amount, r.idempotency_key) for r in rows] == [
        (Decimal("-50.000000"), f"stripe:dispute:{dispute['id']}"),
        (Decimal("50.000000"), f"stripe:dispute-won:{dispute['id']}"),
    ]
    assert _balance(workspace) == Decimal("50.000000")
    assert ChargeReversal.objects.get().stripe_status == "won"
    assert ledger_verify().problems == []


def test_a_dispute_lost_stays_debited_and_a_spent_credit_leaves_the_balance_negative(
    client, owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    from wallets.services import ledger_post

    ledger_post(wallet_id=topup.wallet_id, kind="message_charge", amount=Decimal("-30.5"), idempotency_key="spent")
    dispute = stripe_standin.dispute_open(payment_intent=topup.payment_intent_id)
    stripe_standin.dispute_close(dispute["id"], status="lost")

    # The closing event overtakes the opening one.
    _deliver(client, stripe_standin, "charge.dispute.closed", "charge.dispute.created")

    assert list(WalletTransaction.objects.filter(kind="dispute").values_list("amount", flat=True)) == [
        Decimal("-50.000000")
    ]
    assert _balance(workspace) == Decimal("-30.500000")
    assert ChargeReversal.objects.get().stripe_status == "lost"
    assert ledger_verify().problems == []


def test_a_dispute_won_that_arrives_before_it_opened_nets_to_nothing(client, owner_client, workspace, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    dispute = stripe_standin.dispute_open(payment_intent=topup.payment_intent_id)
    stripe_standin.dispute_close(dispute["id"], status="won")

    _deliver(client, stripe_standin, "charge.dispute.closed", "charge.dispute.created")

    assert WalletTransaction.objects.filter(kind="dispute").count() == 2
    assert _balance(workspace) == Decimal("50.000000")


def test_a_dispute_of_a_charge_that_is_no_top_up_is_recorded_as_refused_and_moves_nothing(
    client, owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    stripe_standin.dispute_open(payment_intent=topup.payment_intent_id)
    (event,) = events_of(stripe_standin, "charge.dispute.created")
    event["data"]["object"]["payment_intent"] = "pi_unknown"

    response = post_event(client, stripe_standin, event)

    assert response.status_code == 200
    assert response.json()["outcome"].startswith("refused: no paid top-up matches dispute")
    assert not WalletTransaction.objects.filter(kind="dispute").exists()


def test_finance_sees_outside_refunds_and_disputes_beside_the_top_up(client, owner_client, workspace, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    refund = _dashboard_refund(topup, 700)
    dispute = stripe_standin.dispute_open(payment_intent=topup.payment_intent_id, amount=4300)
    _deliver(client, stripe_standin, "refund.created", "charge.dispute.created")
    client.force_login(finance_user())

    page = client.get(reverse("admin:payments_topup_change", args=[topup.pk])).content.decode()
    listing = client.get(reverse("admin:payments_chargereversal_changelist")).content.decode()

    for text in (refund.id, dispute["id"], "Refund made at Stripe", "Dispute", "needs_response", "43.000000"):
        assert text in page
    assert refund.id in listing and dispute["id"] in listing
    assert _balance(workspace) == Decimal("0.000000")


def test_reconcile_posts_a_refund_and_a_dispute_whose_webhooks_never_came_once(owner_client, workspace, stripe_standin):
    from datetime import timedelta

    from django.utils import timezone

    from payments.services import payments_reconcile

    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    refund = _dashboard_refund(topup, 1250)
    dispute = stripe_standin.dispute_open(payment_intent=topup.payment_intent_id, amount=3000)
    since = timezone.now() - timedelta(hours=1)

    first = payments_reconcile(since=since)
    second = payments_reconcile(since=since)

    assert first.problems == second.problems == []
    rows = WalletTransaction.objects.filter(kind__in=["refund", "dispute"]).order_by("id")
    assert [(r.kind, r.amount, r.idempotency_key) for r in rows] == [
        ("refund", Decimal("-12.500000"), f"stripe:refund:{refund.id}"),
        ("dispute", Decimal("-30.000000"), f"stripe:dispute:{dispute['id']}"),
    ]
    assert _balance(workspace) == Decimal("7.500000")
    assert ledger_verify().problems == []
