"""Refunds left pending are settled from Stripe's own record every 15 minutes: posted once
when Stripe paid them, failed when it refused, asked again (same key) when the portal
stopped before recording Stripe's answer. Never a second refund, never a second entry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from finance.models import AuditEntry, Refund
from finance.services import _refund_open, _refund_send, refund_issue, refunds_reconcile
from tests.factories import finance_user, wallet_of
from tests.stripe_helpers import paid_topup
from wallets.models import WalletTransaction

LATER = timedelta(minutes=11)


@pytest.fixture
def finance(db):
    return finance_user()


@pytest.fixture
def stripe_leaves_refunds_pending(stripe_standin):
    """Stripe answers refunds as pending (as it does for some payment methods)."""
    stripe_standin.refunds_stay_pending = True
    return stripe_standin


def _stripe_refunds(standin) -> list[dict]:
    return [obj for obj in standin.objects.values() if obj["object"] == "refund"]


def test_a_pending_refund_stripe_has_paid_is_posted_once(
    owner_client, workspace, finance, stripe_leaves_refunds_pending
):
    standin = stripe_leaves_refunds_pending
    topup = paid_topup(owner_client, standin, workspace, "50")
    refund = refund_issue(topup=topup, amount="20", reason="Duplicate", user=finance)
    assert refund.status == "pending"
    assert refunds_reconcile(now=timezone.now() + LATER) == [f"refund {refund.pk}: still pending at Stripe"]

    standin.objects[refund.stripe_refund_id]["status"] = "succeeded"  # the webhook never comes
    assert refunds_reconcile(now=timezone.now() + LATER) == [f"refund {refund.pk}: posted"]
    assert refunds_reconcile(now=timezone.now() + LATER) == []

    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert WalletTransaction.objects.get(kind="refund").amount == Decimal("-20.000000")
    assert wallet_of(workspace, "whatsapp").balance == Decimal("30.000000")


def test_a_refund_stripe_refused_is_failed_and_nothing_is_posted(
    owner_client, workspace, finance, stripe_leaves_refunds_pending
):
    standin = stripe_leaves_refunds_pending
    topup = paid_topup(owner_client, standin, workspace, "50")
    refund = refund_issue(topup=topup, amount="20", reason="Duplicate", user=finance)
    standin.refund_finish(refund.stripe_refund_id, status="failed", failure_reason="expired_or_canceled_card")

    assert refunds_reconcile(now=timezone.now() + LATER) == [f"refund {refund.pk}: failed at Stripe, nothing posted"]

    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "Stripe: expired_or_canceled_card")
    assert not WalletTransaction.objects.filter(kind="refund").exists()
    assert wallet_of(workspace, "whatsapp").balance == Decimal("50.000000")
    assert AuditEntry.objects.filter(action="refund_failed").count() == 1
    # The refused amount can be refunded again.
    assert refund_issue(topup=topup, amount="50", reason="Again", user=finance).status == "pending"


def test_a_refund_stripe_made_but_the_portal_never_recorded_is_found_by_its_key_not_made_twice(
    owner_client, workspace, finance, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    refund = _refund_open(topup_id=topup.pk, amount=Decimal("20"), reason="Duplicate", user=finance)
    _refund_send(refund)  # Stripe refunded; the portal stopped before recording the answer
    assert len(_stripe_refunds(stripe_standin)) == 1

    assert refunds_reconcile(now=timezone.now() + LATER) == [f"refund {refund.pk}: posted"]

    assert len(_stripe_refunds(stripe_standin)) == 1  # the same key: Stripe's first refund, not a second
    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == ("succeeded", _stripe_refunds(stripe_standin)[0]["id"])
    assert WalletTransaction.objects.filter(kind="refund").count() == 1
    assert wallet_of(workspace, "whatsapp").balance == Decimal("30.000000")


def test_a_refund_that_never_reached_stripe_is_asked_for_once(owner_client, workspace, finance, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    refund = _refund_open(topup_id=topup.pk, amount=Decimal("5"), reason="Goodwill", user=finance)

    assert refunds_reconcile(now=timezone.now() + LATER) == [f"refund {refund.pk}: posted"]
    assert refunds_reconcile(now=timezone.now() + LATER) == []

    assert len(_stripe_refunds(stripe_standin)) == 1
    assert wallet_of(workspace, "whatsapp").balance == Decimal("45.000000")


def test_young_refunds_and_day_old_unrecorded_ones_are_left_alone(owner_client, workspace, finance, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    refund = _refund_open(topup_id=topup.pk, amount=Decimal("5"), reason="Goodwill", user=finance)

    assert refunds_reconcile(now=timezone.now()) == []  # its webhook may still come
    assert refunds_reconcile(now=timezone.now() + timedelta(hours=25)) == [
        f"refund {refund.pk}: no Stripe id after 24 hours, check Stripe"
    ]
    assert not _stripe_refunds(stripe_standin)  # past Stripe's idempotency window: never asked blind
    assert Refund.objects.get().status == "pending"


def test_refunds_are_reconciled_every_15_minutes():
    from billing_portal.beat import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["finance-refunds-reconcile"] == {"task": "finance.tasks.reconcile_refunds", "schedule": 900}
