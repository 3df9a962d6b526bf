"""The finance flow in a browser: find a workspace's wallet, post an adjustment with a reason,
see it in the ledger, open the dashboard."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from finance.models import AuditEntry
from tests.browser import browser_login
from tests.conftest import ARTIFACTS
from tests.factories import finance_user, fund, wallet_of
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_finds_a_wallet_posts_an_adjustment_and_sees_the_dashboard(page, workspace):
    finance_user()
    fund(wallet_of(workspace, "sms"), "10.00", key="opening", kind="top_up")
    browser_login(page, "finance")

    page.goto("/admin/")
    page.locator("#wallets-wallet").get_by_role("link", name="Wallets").click()
    page.get_by_role("textbox", name="Search").fill("acme")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("row").filter(has_text="SMS").get_by_role("link", name="Acme").click()
    page.get_by_role("link", name="Post an adjustment").click()

    page.get_by_label("Amount (USD)").fill("-1.25")
    page.get_by_label("Reason").fill("Duplicate carrier fee reversed")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "finance-adjustment-form.png"))
    page.get_by_role("button", name="Post adjustment").click()

    expect(page.get_by_text("Adjustment of -1.250000 posted; balance now 8.750000.")).to_be_visible()
    expect(page.locator("[data-total=net]")).to_have_text("8.750000")
    row = WalletTransaction.objects.get(kind="adjustment")
    assert (row.amount, row.memo, row.created_by.username) == (
        Decimal("-1.250000"),
        "Duplicate carrier fee reversed",
        "finance",
    )
    assert AuditEntry.objects.filter(action="adjustment").count() == 1

    page.goto("/admin/")
    page.get_by_role("link", name="Finance dashboard").click()
    expect(page.locator("[data-figure=held] .tile-value")).to_have_text("US$8.75")
