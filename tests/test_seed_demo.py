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
    assert Wallet.objects.get(workspace__slug="globex", kind="sms").balance == Decimal("0")


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
    assert Wallet.objects.get(workspace__slug="globex", kind="sms").balance == Decimal("0")
