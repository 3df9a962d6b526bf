"""End to end against the local Stripe stand-in: a person tops up through the modal and
the test checkout page, and sees the credit land (or, with a declining card, nothing)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from payments.models import StripeEvent, TopUp
from tests.browser import browser_login
from tests.conftest import ARTIFACTS
from tests.factories import fund, wallet_of
from tests.stripe_helpers import WEBHOOK_URL
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standin_with_webhooks(stripe_standin, live_server):
    stripe_standin.webhook_url = live_server.url + WEBHOOK_URL
    return stripe_standin


WALLET_PAGE_LINK = {"sms": "Wallet", "whatsapp": "Billing"}  # Settings > Plans and billings / Official WhatsApp


def _open_modal_and_confirm(page, kind: str, amount_label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=WALLET_PAGE_LINK[kind], exact=True).click()
    page.locator(f"[data-wallet={kind}]").get_by_role("link", name="Top up").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_role("tab", name="Manual top-up").get_attribute("aria-selected") == "true"
    dialog.get_by_label(amount_label, exact=True).check()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"topup-modal-{kind}.png"))
    dialog.get_by_role("button", name="Confirm").first.click()
    page.wait_for_url("**/pay/cs_test_*")


def test_an_admin_tops_up_50_dollars_through_the_modal_and_checkout_and_sees_it_land(
    page, owner, workspace, standin_with_webhooks
):
    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "12.34", key="opening")
    browser_login(page, "owner")

    _open_modal_and_confirm(page, "whatsapp", "US$50.00")
    expect(page.get_by_role("heading", name="Pay US$50.00")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay US$50.00").click()

    page.wait_for_url("**/success/**")
    page.locator("[data-topup-status=succeeded]").wait_for()
    assert page.locator("[data-topup-balance]").inner_text() == "US$62.34"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("62.340000")
    assert WalletTransaction.objects.filter(kind="top_up").get().amount == Decimal("50.000000")
    assert TopUp.objects.get().status == "succeeded"

    page.get_by_role("link", name="Back to the wallet").click()
    assert page.locator("[data-wallet=whatsapp] .balance").inner_text() == "US$62.34"
    # The webhook arrives too (in either order with the success page) and credits nothing more.
    page.wait_for_timeout(500)
    assert StripeEvent.objects.filter(type="checkout.session.completed").exists()
    assert WalletTransaction.objects.filter(kind="top_up").count() == 1


def test_a_declining_card_adds_no_credit(page, owner, workspace, standin_with_webhooks):
    browser_login(page, "owner")

    _open_modal_and_confirm(page, "sms", "US$50.00")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Pay US$50.00").click()

    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    page.get_by_role("link", name="Cancel and return").click()
    page.wait_for_url("**/cancelled/")
    assert "nothing was charged" in page.locator("main").get_by_role("status").inner_text()
    assert WalletTransaction.objects.count() == 0
    assert wallet_of(workspace, "sms").balance == Decimal("0")
    assert TopUp.objects.get().status == "cancelled"  # the cancel page closed it


def test_without_javascript_the_modal_is_a_plain_form_that_still_works(
    chromium, live_server, owner, workspace, standin_with_webhooks
):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        browser_login(page, "owner")
        page.get_by_role("link", name="Wallet", exact=True).click()
        card = page.locator("#top-up")
        expect(card.get_by_text("Manual top-up: choose an amount")).to_be_visible()
        card.get_by_label("Custom", exact=True).check()
        card.get_by_label("Custom amount (US$20.00 to US$2,000.00)").fill("19.99")
        card.get_by_role("button", name="Confirm").first.click()
        # The problem is listed in the form itself.
        assert "US$19.99 is outside the limits." in card.locator("[data-form-errors]").first.inner_text()
        assert TopUp.objects.count() == 0
    finally:
        context.close()


def test_the_low_balance_banner_link_opens_the_top_up_modal_on_the_whatsapp_page(page, owner, workspace):
    fund(wallet_of(workspace, "whatsapp"), "12.00", key="low")
    browser_login(page, "owner")

    page.locator("[data-banner=whatsapp-low]").get_by_role("link").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Top up the WhatsApp wallet")).to_be_visible()
    assert page.url.endswith("/settings/billing/whatsapp/#top-up")
