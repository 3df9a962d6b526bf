"""Receipts: every paid top-up, manual or auto, has a PDF receipt with its number, date,
workspace, amount, card and Stripe payment id; downloadable by the workspace and in the admin."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from payments.models import TopUp
from payments.receipts import receipt_number
from payments.services import auto_top_up_charge
from tests.factories import finance_user, wallet_of
from tests.stripe_helpers import paid_topup, save_card, session_id_of, start_topup

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_a_paid_manual_top_up_has_a_receipt_naming_the_card_and_the_stripe_payment(
    owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, amount="1000")
    assert topup.status == "succeeded"

    response = owner_client.get(reverse("payments:topup_receipt", args=["acme", topup.pk]))

    assert response.status_code == 200
    number = receipt_number(topup=topup)
    assert response["Content-Disposition"] == f'attachment; filename="receipt-{number}.pdf"'
    text = _text(response)
    topup.refresh_from_db()
    assert topup.payment_intent_id.startswith("pi_")
    assert (topup.card_brand, topup.card_last4) == ("visa", "4242")
    for expected in [
        f"Receipt {number}",
        "Acme",
        "WhatsApp wallet",
        "US$1,000.00",
        "Visa ending 4242",
        topup.payment_intent_id,
        f"Date paid {topup.posting.created_at:%-d %b %Y}",
    ]:
        assert expected in text, (expected, text)


def test_a_paid_auto_top_up_has_a_receipt_with_the_saved_card(owner_client, workspace, stripe_standin):
    save_card(stripe_standin, workspace, "5555555555554444")
    topup = TopUp.objects.create(wallet=wallet_of(workspace, "sms"), kind="auto", amount=Decimal("20"))
    auto_top_up_charge(topup_id=topup.id)

    response = owner_client.get(reverse("payments:topup_receipt", args=["acme", topup.pk]))

    assert response.status_code == 200
    text = _text(response)
    assert "Mastercard ending 4444" in text and "US$20.00" in text and "SMS wallet" in text
    assert "Auto" in text


def test_an_unpaid_top_up_has_no_receipt(owner_client, workspace, stripe_standin):
    url = start_topup(owner_client, workspace, "sms", "50").url
    topup = TopUp.objects.get(checkout_session_id=session_id_of(url))
    assert owner_client.get(reverse("payments:topup_receipt", args=["acme", topup.pk])).status_code == 404


def test_receipts_are_not_shown_to_staff_without_billing_or_to_other_workspaces(
    client, owner_client, teammate, outsider, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace)
    client.force_login(teammate)
    assert client.get(reverse("payments:topup_receipt", args=["acme", topup.pk])).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("payments:topup_receipt", args=["globex", topup.pk])).status_code == 404


def test_the_wallet_page_lists_the_top_up_with_its_receipt_link(owner_client, workspace, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace)
    page = owner_client.get(reverse("whatsapp_billing", args=["acme"])).content.decode()
    assert f'data-topup-row="{topup.pk}"' in page
    assert reverse("payments:topup_receipt", args=["acme", topup.pk]) in page


def test_finance_downloads_the_receipt_from_the_admin(client, owner_client, workspace, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace)
    client.force_login(finance_user())
    change = client.get(reverse("admin:payments_topup_change", args=[topup.pk])).content.decode()
    url = reverse("admin:payments_topup_receipt", args=[topup.pk])
    assert url in change
    response = client.get(url)
    assert response.status_code == 200
    assert f"Receipt {receipt_number(topup=topup)}" in _text(response)
