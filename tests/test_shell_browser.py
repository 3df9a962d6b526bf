"""A person logs in and finds their way around the app shell."""

import pytest
from playwright.sync_api import expect

from tests.browser import browser_login
from tests.factories import fund, wallet_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_logs_in_sees_the_shell_and_reaches_the_wallet_through_settings(page, owner, workspace):
    fund(wallet_of(workspace, "whatsapp"), "12.00", key="low")
    browser_login(page, "owner")

    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_text("Channels")).to_be_visible()
    assert "below US$20" in page.locator("[data-banner=whatsapp-low]").inner_text()

    page.get_by_role("link", name="Billing overview", exact=True).click()
    expect(page.get_by_role("heading", name="Plans and billings · Wallet")).to_be_visible()
    assert page.locator("[data-wallet=whatsapp] .balance").inner_text() == "US$12.00"


def test_a_wrong_password_shows_an_error(page, owner):
    browser_login(page, "owner", password="wrong")
    assert "didn't match" in page.get_by_role("alert").inner_text()


def test_staff_sees_no_wallet(page, teammate, workspace):
    browser_login(page, "teammate")
    expect(page.get_by_text("Wallet (admins only)")).to_be_visible()
    assert page.get_by_role("link", name="Wallet", exact=True).count() == 0
