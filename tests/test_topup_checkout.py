"""Manual top-up: the modal's form starts a Checkout Session; the success page credits
what Stripe says was paid, once, whether it or the webhook comes first."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from payments.models import StripeCustomer, TopUp
from tests.factories import fund, wallet_of
from tests.stripe_helpers import events_of, post_event, session_id_of, start_topup
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.money import MONEY_FORMAT_HINT

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_preset_amount_redirects_to_checkout_for_exactly_that_amount(owner_client, workspace, stripe_standin):
    response = start_topup(owner_client, workspace, "whatsapp", "50")

    assert response.status_code == 302
    assert response.url.startswith(f"{stripe_standin.url}/pay/cs_test_")
    topup = TopUp.objects.get()
    assert (topup.kind, topup.status, topup.amount, topup.amount_paid) == ("manual", "pending", Decimal("50"), None)
    assert topup.wallet == wallet_of(workspace, "whatsapp")
    assert topup.created_by.username == "owner"
    session = stripe_standin.objects[topup.checkout_session_id]
    assert session["amount_total"] == 5000
    assert session["customer"] == StripeCustomer.objects.get(workspace=workspace).stripe_id
    assert session["metadata"] == {"topup_id": str(topup.id), "wallet_id": str(topup.wallet_id)}
    assert WalletTransaction.objects.count() == 0


def test_a_custom_amount_in_dollars_and_cents_is_accepted(owner_client, workspace, stripe_standin):
    response = start_topup(owner_client, workspace, "sms", "custom", custom="1,234.56")

    assert response.status_code == 302
    assert TopUp.objects.get().amount == Decimal("1234.56")
    assert stripe_standin.objects[TopUp.objects.get().checkout_session_id]["amount_total"] == 123456


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ("19.99", "US$19.99 is outside the limits. A top-up is US$20.00 to US$2,000.00."),
        ("2000.01", "US$2,000.01 is outside the limits. A top-up is US$20.00 to US$2,000.00."),
        ("abc", f"“abc” is not an amount. {MONEY_FORMAT_HINT} A top-up is US$20.00 to US$2,000.00."),
        ("20.005", "20.005 has more than 2 decimal places. A top-up is US$20.00 to US$2,000.00."),
        ("", "Enter an amount. A top-up is US$20.00 to US$2,000.00."),
    ],
)
def test_an_amount_outside_the_limits_is_refused_and_no_session_is_created(
    owner_client, workspace, stripe_standin, custom, message
):
    response = start_topup(owner_client, workspace, "whatsapp", "custom", custom=custom)

    assert response.status_code == 302
    assert response.url == reverse("billing_overview", args=["acme"]) + "#top-up"  # the dialog reopens
    assert _messages(response) == [message]
    assert TopUp.objects.count() == 0
    assert stripe_standin.count("checkout.session") == 0


def test_a_post_without_the_csrf_token_is_refused(owner, workspace, stripe_standin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = start_topup(client, workspace, "whatsapp", "50")

    assert response.status_code == 403
    assert TopUp.objects.count() == 0
    assert stripe_standin.count("checkout.session") == 0


def test_staff_without_billing_permission_and_outsiders_cannot_top_up(
    client, teammate, outsider, workspace, stripe_standin
):
    client.force_login(teammate)
    assert start_topup(client, workspace, "whatsapp", "50").status_code == 403
    client.force_login(outsider)
    assert start_topup(client, workspace, "whatsapp", "50").status_code == 404
    assert TopUp.objects.count() == 0


def test_an_unknown_wallet_kind_is_not_found(owner_client, workspace, stripe_standin):
    # The URL's wallet-kind converter refuses it before the view (tests/security/test_url_parts.py).
    response = owner_client.post(f"/w/{workspace.slug}/payments/fax/top-up/", {"amount": "50"})
    assert response.status_code == 404
    assert TopUp.objects.count() == 0


def test_the_success_page_credits_the_paid_amount_and_the_later_webhook_finds_it_done(
    owner_client, workspace, stripe_standin
):
    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "12.34", key="opening")
    url = start_topup(owner_client, workspace, "whatsapp", "50").url
    assert stripe_standin.pay(session_id_of(url), "4242424242424242") is None
    topup = TopUp.objects.get()

    page = owner_client.get(reverse("payments:topup_success", args=["acme", topup.id]))

    assert page.status_code == 200
    assert "US$50.00 was added to your WhatsApp wallet." in page.content.decode()
    topup.refresh_from_db()
    assert (topup.status, topup.amount_paid) == ("succeeded", Decimal("50.000000"))
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("62.340000")
    credit = WalletTransaction.objects.get(kind="top_up")
    assert (credit.amount, credit.reference, credit.idempotency_key) == (
        Decimal("50.000000"),
        f"topup:{topup.id}",
        f"stripe:checkout:{topup.checkout_session_id}",
    )

    (completed,) = events_of(stripe_standin, "checkout.session.completed")
    response = post_event(owner_client, stripe_standin, completed)
    assert response.status_code == 200
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("62.340000")
    assert WalletTransaction.objects.filter(kind="top_up").count() == 1


def test_the_status_endpoint_reports_pending_then_succeeded_with_the_balance(owner_client, workspace, stripe_standin):
    url = start_topup(owner_client, workspace, "sms", "100").url
    topup = TopUp.objects.get()
    status_url = reverse("payments:topup_status", args=["acme", topup.id])

    assert owner_client.get(status_url).json() == {
        "status": "pending",
        "amount_paid": None,
        "balance": "0.000000",
        "balance_display": "US$0.00",
    }
    stripe_standin.pay(session_id_of(url), "4242424242424242")
    (completed,) = events_of(stripe_standin, "checkout.session.completed")
    assert post_event(owner_client, stripe_standin, completed).status_code == 200

    assert owner_client.get(status_url).json() == {
        "status": "succeeded",
        "amount_paid": "100.000000",
        "balance": "100.000000",
        "balance_display": "US$100.00",
    }


def test_the_success_page_of_an_unpaid_session_credits_nothing(owner_client, workspace, stripe_standin):
    url = start_topup(owner_client, workspace, "whatsapp", "50").url
    assert stripe_standin.pay(session_id_of(url), "4000000000000002") == "Your card was declined."
    topup = TopUp.objects.get()

    page = owner_client.get(reverse("payments:topup_success", args=["acme", topup.id]))

    assert page.status_code == 200
    assert "is being confirmed" in page.content.decode()
    topup.refresh_from_db()
    assert topup.status == "pending"
    assert WalletTransaction.objects.count() == 0


def test_another_workspaces_top_up_pages_are_not_found(client, outsider, owner_client, workspace, stripe_standin):
    start_topup(owner_client, workspace, "whatsapp", "50")
    topup = TopUp.objects.get()
    client.force_login(outsider)
    for name in ("payments:topup_success", "payments:topup_cancelled", "payments:topup_status"):
        assert client.get(reverse(name, args=["globex", topup.id])).status_code == 404
        assert client.get(reverse(name, args=["acme", topup.id])).status_code == 404


def test_the_cancel_page_says_nothing_was_charged(owner_client, workspace, stripe_standin):
    start_topup(owner_client, workspace, "whatsapp", "50")
    topup = TopUp.objects.get()

    page = owner_client.get(reverse("payments:topup_cancelled", args=["acme", topup.id]))

    assert page.status_code == 200
    assert "nothing was charged" in page.content.decode()
    assert WalletTransaction.objects.count() == 0
    topup.refresh_from_db()
    assert (topup.status, topup.failure_reason) == ("cancelled", "Cancelled on the payment page")
    # Stripe's page can no longer be paid, and a reload changes nothing.
    assert stripe_standin.objects[topup.checkout_session_id]["status"] == "expired"
    assert owner_client.get(reverse("payments:topup_cancelled", args=["acme", topup.id])).status_code == 200
    topup.refresh_from_db()
    assert topup.status == "cancelled"


def test_the_cancel_page_of_a_session_paid_in_another_tab_credits_it(owner_client, workspace, stripe_standin):
    url = start_topup(owner_client, workspace, "sms", "50").url
    stripe_standin.pay(session_id_of(url), "4242424242424242")
    topup = TopUp.objects.get()

    page = owner_client.get(reverse("payments:topup_cancelled", args=["acme", topup.id]))

    assert page.status_code == 200
    topup.refresh_from_db()
    assert (topup.status, topup.amount_paid) == ("succeeded", Decimal("50.000000"))
    assert "was paid" in page.content.decode()
    assert wallet_of(workspace, "sms").balance == Decimal("50.000000")


def test_the_modal_renders_on_the_wallet_page_with_presets_and_both_tabs(owner_client, workspace, stripe_standin):
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()

    for amount in ("US$20.00", "US$50.00", "US$100.00", "US$500.00", "US$1,000.00", "US$2,000.00"):
        assert amount in page
    assert page.count("Manual top-up: choose an amount") == 2
    assert page.count("Set auto top-up") == 2
    assert "Save a card" in page


def test_narrower_top_up_bounds_from_settings_refuse_more_and_the_modal_says_so(
    owner_client, workspace, stripe_standin, settings
):
    settings.TOP_UP_MIN, settings.TOP_UP_MAX = Decimal("50"), Decimal("500")

    page = owner_client.get(reverse("sms_wallet", args=[workspace.slug])).content.decode()
    response = start_topup(owner_client, workspace, "whatsapp", "custom", custom="500.01")

    assert "Custom amount (US$50.00 to US$500.00)" in page
    assert response.status_code == 302
    assert _messages(response) == ["US$500.01 is outside the limits. A top-up is US$50.00 to US$500.00."]
    assert TopUp.objects.count() == 0
    assert start_topup(owner_client, workspace, "whatsapp", "custom", custom="500").status_code == 302
    assert TopUp.objects.get().amount == Decimal("500")


def test_a_refused_auto_top_up_reopens_the_dialog_on_its_tab_listing_every_problem(owner_client, workspace):
    page_url = reverse("sms_wallet", args=["acme"])
    response = owner_client.post(
        reverse("payments:auto_top_up_save", args=["acme", "sms"]),
        {"enabled": "on", "threshold": "abc", "auto_amount": "5", "next": page_url},
    )
    assert response.status_code == 302 and response.url == page_url + "#top-up"

    page = owner_client.get(page_url).content.decode()

    assert 'data-topup-reopen="auto"' in page
    errors = page.split('id="topup-sms-auto"', 1)[1].split("</ul>", 1)[0]
    assert "US$5.00 is outside the limits." in errors
    assert "Minimum balance: “abc” is not an amount." in errors  # the one money parser's words
    assert "Save a card first" in errors
    assert 'class="message message-error"' not in page  # in the dialog, not a banner
    assert not AutoTopUpRule.objects.exists()


def test_save_a_card_returns_to_the_page_it_came_from(owner_client, workspace, stripe_standin):
    page_url = reverse("whatsapp_billing", args=["acme"])
    response = owner_client.post(reverse("payments:card_save", args=["acme"]), {"next": page_url})
    session_id = session_id_of(response.url)
    session = stripe_standin.objects[session_id]
    assert session["cancel_url"].endswith(page_url)
    assert stripe_standin.pay(session_id, "4242424242424242") is None

    back = owner_client.get(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))

    assert back.status_code == 302 and back.url == page_url + "#top-up"
    assert StripeCustomer.objects.get(workspace=workspace).card_last4 == "4242"
