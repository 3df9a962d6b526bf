"""Adjustments posted by finance through the admin form."""

from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import AuditEntry
from tests.factories import finance_user, fund, wallet_of
from wallets.models import WalletTransaction


@pytest.fixture
def finance_client(client, db):
    user = finance_user()
    client.force_login(user)
    client.user = user
    return client


def _form_token(client, wallet) -> str:
    return client.get(reverse("finance_adjustment", args=[wallet.pk])).context["form_token"]


def test_an_adjustment_posts_one_ledger_row_with_the_reason_and_an_audit_entry(finance_client, workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "10.00", key="opening")
    token = _form_token(finance_client, wallet)
    data = {"amount": "-2.345678", "reason": "Carrier credit reversed", "form_token": token}

    response = finance_client.post(reverse("finance_adjustment", args=[wallet.pk]), data)

    assert response.status_code == 302
    row = WalletTransaction.objects.get(kind="adjustment", created_by=finance_client.user)
    assert (row.amount, row.balance_after, row.memo) == (
        Decimal("-2.345678"),
        Decimal("7.654322"),
        "Carrier credit reversed",
    )
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("7.654322")
    audit = AuditEntry.objects.get(action="adjustment")
    assert (audit.actor, audit.target_type, audit.target_id, audit.reason) == (
        finance_client.user,
        "wallets.wallet",
        str(wallet.pk),
        "Carrier credit reversed",
    )
    assert audit.before == {"balance": "10.000000"}
    assert audit.after["balance"] == "7.654322" and audit.after["amount"] == "-2.345678"


def test_submitting_the_same_form_twice_posts_once(finance_client, workspace):
    wallet = wallet_of(workspace, "whatsapp")
    data = {"amount": "25", "reason": "Goodwill credit", "form_token": _form_token(finance_client, wallet)}
    url = reverse("finance_adjustment", args=[wallet.pk])
    assert finance_client.post(url, data).status_code == 302
    assert finance_client.post(url, data).status_code == 302
    assert WalletTransaction.objects.filter(kind="adjustment").count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("25.000000")
    assert AuditEntry.objects.filter(action="adjustment").count() == 1


@pytest.mark.parametrize(
    ("amount", "reason", "error"),
    [
        ("5.00", "", "This field is required."),
        ("5.00", "   ", "This field is required."),
        ("0", "Oops", "The amount must not be zero."),
        ("0.000", "Oops", "The amount must not be zero."),
        ("ten", "Oops", "“ten” is not an amount."),
        ("NaN", "Oops", "“NaN” is not an amount."),
        ("1.0000001", "Oops", "has more than 6 decimal places."),
    ],
)
def test_bad_adjustments_are_refused_with_a_clear_error_and_write_nothing(
    finance_client, workspace, amount, reason, error
):
    wallet = wallet_of(workspace, "sms")
    url = reverse("finance_adjustment", args=[wallet.pk])
    response = finance_client.post(url, {"amount": amount, "reason": reason, "form_token": "t1"})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not WalletTransaction.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_wallet_action_leads_finance_to_the_adjustment_form(finance_client, workspace):
    wallet = wallet_of(workspace, "sms")
    response = finance_client.post(
        reverse("admin:wallets_wallet_changelist"), {"action": "adjust", "_selected_action": [wallet.pk]}
    )
    assert response.status_code == 302
    assert response.url == reverse("finance_adjustment", args=[wallet.pk])


def test_resubmitting_the_form_with_a_changed_amount_posts_nothing_new_and_says_what_was_posted(
    finance_client, workspace
):
    wallet = wallet_of(workspace, "sms")
    url = reverse("finance_adjustment", args=[wallet.pk])
    token = _form_token(finance_client, wallet)
    assert finance_client.post(url, {"amount": "25", "reason": "Goodwill", "form_token": token}).status_code == 302

    # Back, fix a typo, submit the same form again.
    response = finance_client.post(url, {"amount": "2.50", "reason": "Goodwill", "form_token": token})

    assert response.status_code == 200
    first = WalletTransaction.objects.get(kind="adjustment")
    assert (
        f"This form already posted an adjustment of US$25.00 (ledger row {first.pk}); nothing new was posted."
        in response.content.decode()
    )
    assert WalletTransaction.objects.filter(kind="adjustment").count() == 1
    assert AuditEntry.objects.filter(action="adjustment").count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("25.000000")
    # The page now carries a fresh form: submitting it is a deliberate second adjustment.
    fresh = response.context["form_token"]
    assert fresh != token
    assert finance_client.post(url, {"amount": "2.50", "reason": "Goodwill", "form_token": fresh}).status_code == 302
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("27.500000")


@pytest.mark.parametrize("amount", ["1,000.01", "-5000"])
def test_an_adjustment_over_the_confirmation_amount_is_shown_back_and_posted_only_when_confirmed(
    finance_client, workspace, amount
):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "6000", key="opening", kind="top_up")
    url = reverse("finance_adjustment", args=[wallet.pk])
    data = {"amount": amount, "reason": "Big correction", "form_token": _form_token(finance_client, wallet)}

    asked = finance_client.post(url, data)

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Amounts over US$1,000.00 either way are confirmed twice." in page
    assert 'name="confirmed_amount"' in page
    assert not WalletTransaction.objects.filter(kind="adjustment").exists()

    confirm = asked.context["confirm"]["value"]
    assert finance_client.post(url, {**data, "confirmed_amount": confirm}).status_code == 302
    assert WalletTransaction.objects.get(kind="adjustment").amount == Decimal(amount.replace(",", ""))


def test_changing_a_confirmed_amount_asks_again(finance_client, workspace):
    wallet = wallet_of(workspace, "sms")
    url = reverse("finance_adjustment", args=[wallet.pk])
    data = {"amount": "5000", "reason": "Big", "form_token": _form_token(finance_client, wallet)}

    response = finance_client.post(url, {**data, "amount": "50000", "confirmed_amount": "5000.000000"})

    assert response.status_code == 200
    assert response.context["confirm"]["value"] == "50000.000000"
    assert not WalletTransaction.objects.filter(kind="adjustment").exists()


def test_the_confirmation_amount_is_a_setting(finance_client, workspace, settings):
    settings.FINANCE_CONFIRM_ABOVE = "10"
    wallet = wallet_of(workspace, "sms")
    url = reverse("finance_adjustment", args=[wallet.pk])
    data = {"amount": "10.01", "reason": "Small", "form_token": _form_token(finance_client, wallet)}

    response = finance_client.post(url, data)

    assert response.status_code == 200 and response.context["confirm"]["shown"] == "US$10.01"
    assert not WalletTransaction.objects.filter(kind="adjustment").exists()
