"""The wallet page keeps its balance live in Chromium: a posting made behind its back shows
up, with the suspended banner, without a reload (static/js/live-balance.js, CSP intact)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser import browser_login
from tests.factories import fund, wallet_of
from wallets.services import ledger_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sms_wallet_page_shows_a_charge_made_behind_its_back_and_the_suspended_banner(
    page, owner, workspace, settings
):
    settings.ALERTS_BALANCE_POLL_SECONDS = 1
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "5", key="opening")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    browser_login(page, "owner")
    page.goto("/w/acme/settings/billing/wallet/")
    balance = page.locator(".balance-card .balance")
    expect(balance).to_have_text("US$5.00")
    expect(page.locator("[data-banner=sms-suspended]")).to_have_count(0)
    page.evaluate("window.__same_page = true")  # gone if the page reloads

    ledger_post(wallet_id=wallet.id, kind="message_charge", amount=Decimal("-6.25"), idempotency_key="behind")

    expect(balance).to_have_text("-US$1.25")
    expect(page.locator(".balance-card [data-state]")).to_have_text("Suspended")
    expect(page.locator("[data-banner=sms-suspended]")).to_contain_text("SMS and MMS suspended")
    expect(page.locator(".balance-card [data-updated]")).to_contain_text("s ago")
    assert page.evaluate("window.__same_page") is True
    assert [e for e in errors if "Content Security Policy" in e] == []

    ledger_post(wallet_id=wallet.id, kind="adjustment", amount=Decimal("30"), idempotency_key="back", memo="x")
    expect(balance).to_have_text("US$28.75")
    expect(page.locator("[data-banner=sms-suspended]")).to_have_count(0)
