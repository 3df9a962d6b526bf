from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from usage.models import Channel, PhoneNumber
from wallets.models import Membership, Wallet, WalletTransaction, Workspace
from wallets.selectors import WalletState, ledger_verify, wallet_status

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "workspaces": list(Workspace.objects.order_by("slug").values_list("slug", "name", "timezone")),
        "users": list(get_user_model().objects.order_by("username").values_list("username", "is_staff")),
        "memberships": Membership.objects.count(),
        "channels": Channel.objects.count(),
        "numbers": list(PhoneNumber.objects.order_by("number").values_list("number", "monthly_fee")),
        "ledger": list(WalletTransaction.objects.order_by("id").values_list("idempotency_key", "amount")),
        "balances": list(Wallet.objects.order_by("id").values_list("workspace__slug", "kind", "balance")),
    }


def test_seed_demo_twice_leaves_the_same_data(capsys):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    assert "acme-admin" in capsys.readouterr().out
    assert ledger_verify().problems == []


def test_seed_demo_gives_one_healthy_one_low_and_one_empty_wallet():
    call_command("seed_demo")
    states = {
        (w.workspace.slug, w.kind): wallet_status(kind=w.kind, balance=w.balance).state
        for w in Wallet.objects.select_related("workspace")
    }
    assert states[("acme", "whatsapp")] == WalletState.OK
    assert states[("globex", "whatsapp")] == WalletState.LOW
    assert states[("globex", "sms")] == WalletState.SUSPENDED
    assert Decimal("-1") < Wallet.objects.get(workspace__slug="globex", kind="sms").balance <= Decimal("0")


def test_seed_demo_shows_paid_fees_and_a_release_countdown_whenever_it_is_first_run():
    from django.utils import timezone

    from usage.models import NumberFeeCharge

    call_command("seed_demo")
    globex = PhoneNumber.objects.get(number="+85251234567")
    assert globex.status == PhoneNumber.Status.RELEASE_SCHEDULED
    days_left = (globex.release_scheduled_for - timezone.localdate()).days
    assert 20 <= days_left <= 30
    assert list(NumberFeeCharge.objects.filter(phone_number=globex).values_list("status", flat=True)) == [
        "unpaid",
        "unpaid",
    ]
    acme_us = PhoneNumber.objects.get(number="+14155550100")
    assert list(NumberFeeCharge.objects.filter(phone_number=acme_us).values_list("status", flat=True)) == [
        "charged",
        "charged",
    ]
    assert Wallet.objects.get(workspace__slug="globex", kind="sms").balance <= Decimal("0")


def test_seed_demo_dates_each_posting_with_what_it_records_over_the_last_90_days(capsys):
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import TopUp
    from usage.models import UsageRecord

    call_command("seed_demo")
    now = timezone.now()
    ledger = WalletTransaction.objects.all()
    dates = sorted(ledger.values_list("created_at", flat=True))
    assert now - timedelta(days=91) < dates[0] < now - timedelta(days=80)
    assert len({d.date().replace(day=1) for d in dates}) >= 3  # the dashboard's months fill
    # Ledger ids follow time, so "Recent activity" (newest id first) reads as a history.
    for wallet in Wallet.objects.all():
        by_id = list(ledger.filter(wallet=wallet).order_by("id").values_list("created_at", flat=True))
        assert by_id == sorted(by_id)
    # Each usage charge is dated on the day of the messages it charges.
    for record in (
        UsageRecord.objects.filter(posting__isnull=False).select_related("posting").order_by("occurred_at")[:50]
    ):
        assert timedelta(0) <= record.posting.created_at - record.occurred_at < timedelta(days=1)
    # Every seeded top-up is a paid Stripe top-up with its card: it has a receipt.
    credits = ledger.filter(kind="top_up")
    assert TopUp.objects.filter(status="succeeded", posting__in=credits, card_last4="4242").count() == credits.count()
    out = capsys.readouterr().out
    release = PhoneNumber.objects.get(number="+85251234567").release_scheduled_for
    assert f"python manage.py bill_numbers --date {release.isoformat()} --dry-run" in out
