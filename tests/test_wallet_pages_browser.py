"""An admin uses the wallet pages in Chromium: both routes, filters, CSV download, banners; staff sees none."""

import csv
import io
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser import browser_login
from tests.conftest import ARTIFACTS
from tests.factories import fund, wallet_of
from tests.usage_data import sms_month

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"wallet-{name}.png"), full_page=True)


def summary(page, name: str) -> str:
    return page.locator(f"[data-summary={name}]").inner_text()


def filter_usage(page, *, start: str, end: str, channel: str = "All channels") -> None:
    page.get_by_label("From", exact=True).fill(start)
    page.get_by_label("To", exact=True).fill(end)
    page.get_by_label("SMS channel").select_option(label=channel)
    page.get_by_role("button", name="Apply").click()


def test_an_admin_reaches_the_sms_wallet_both_ways_filters_usage_and_downloads_the_csv(
    page, owner, workspace, other_workspace
):
    sms_month(workspace, other_workspace)
    browser_login(page, "owner")

    # Route 1: Channels > SMS > Manage wallet.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SMS", exact=True).click()
    shot(page, "sms-channel")
    page.get_by_role("link", name="Manage wallet").click()
    expect(page.get_by_role("heading", name="SMS wallet", exact=True)).to_be_visible()
    # Route 2: Settings > Plans and billings > Wallet.
    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Wallet", exact=True).click()
    expect(page.get_by_role("heading", name="SMS wallet", exact=True)).to_be_visible()
    assert page.locator(".balance-card .balance").inner_text() == "US$13.76"

    filter_usage(page, start="2026-11-01", end="2026-11-30")
    assert "start=2026-11-01&end=2026-11-30" in page.url
    assert (summary(page, "messages"), summary(page, "segments"), summary(page, "total")) == ("4", "7", "US$1.23")
    assert page.locator(".usage-table tbody tr").count() == 4
    assert page.locator(".chart svg.chart-wide rect.bar").count() == 4  # 1, 10, 15 (number fee) and 30 Nov
    shot(page, "sms-wallet-november")

    filter_usage(page, start="2026-11-01", end="2026-11-30", channel="UK line")
    assert (summary(page, "messages"), summary(page, "segments"), summary(page, "total")) == ("1", "3", "US$0.03")
    assert page.locator(".usage-table tbody tr").count() == 1
    assert page.get_by_label("SMS channel").input_value() != "all"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export .CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("acme_sms-wallet_2026-11-01_to_2026-11-30_channel-")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [(r["message_id"], r["channel"], r["total"]) for r in rows] == [("nov-10-uk", "UK line", "0.026700")]
    assert sum(Decimal(r["total"]) for r in rows).quantize(Decimal("0.01")) == Decimal("0.03")

    filter_usage(page, start="2026-11-30", end="2026-11-01")
    assert "is before the start date" in page.locator("[data-filter-errors]").inner_text()
    shot(page, "sms-wallet-bad-range")


def test_the_pages_fit_a_phone_screen(chromium, live_server, owner, workspace, other_workspace):
    sms_month(workspace, other_workspace)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        browser_login(phone, "owner")
        for name, url in [
            ("sms", "/w/acme/settings/billing/wallet/?start=2026-11-01&end=2026-11-30"),
            ("whatsapp", "/w/acme/settings/billing/whatsapp/?start=2026-11-01&end=2026-11-30"),
        ]:
            phone.goto(url)
            overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} page scrolls sideways by {overflow}px"
            shot(phone, f"phone-{name}")
    finally:
        context.close()


def test_the_admin_sees_each_banner_at_its_threshold(page, owner, workspace):
    whatsapp, sms = wallet_of(workspace, "whatsapp"), wallet_of(workspace, "sms")
    fund(sms, "5.00", key="sms-1")
    fund(whatsapp, "19.99", key="wa-1")
    browser_login(page, "owner")
    low = page.locator("[data-banner=whatsapp-low]")
    assert "US$19.99, below US$20" in low.inner_text()
    assert page.locator("[data-banner=sms-suspended]").count() == 0
    low.get_by_role("link").click()
    expect(page.get_by_role("heading", name="WhatsApp billing")).to_be_visible()
    # The banner's "Top up" link opens the top-up modal; Escape closes it again.
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    shot(page, "whatsapp-billing-low")

    fund(whatsapp, "-20.00", key="wa-2")
    page.get_by_role("link", name="Conversations").click()
    assert page.locator("[data-banner=whatsapp-paused]").count() == 2
    assert "sending is paused" in page.locator(".conversation [data-banner=whatsapp-paused]").inner_text()
    assert page.get_by_label("Message").is_disabled()
    shot(page, "conversation-paused")

    fund(sms, "-5.00", key="sms-2")
    page.reload()
    suspended = page.locator("[data-banner=sms-suspended]")
    assert "SMS and MMS suspended" in suspended.inner_text()
    suspended.get_by_role("link", name="Go to SMS wallet").click()
    expect(page.get_by_role("heading", name="SMS wallet", exact=True)).to_be_visible()
    assert page.locator(".balance-card [data-state]").inner_text() == "Suspended"
    shot(page, "sms-wallet-suspended")


def test_staff_sees_no_wallet_page(page, teammate, workspace):
    browser_login(page, "teammate")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Wallet", exact=True).count() == 0
    assert nav.get_by_role("link", name="Billing").count() == 0
    response = page.goto("/w/acme/settings/billing/wallet/")
    assert response.status == 403
    assert page.goto("/w/acme/settings/billing/whatsapp/").status == 403
