"""The SMS wallet page shows each number's billing state and a live countdown to a scheduled release."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import browser_login
from tests.conftest import ARTIFACTS
from tests.factories import ChannelFactory, NumberPriceFactory, PhoneNumberFactory, fund, wallet_of
from usage.models import NumberFeeCharge

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sms_wallet_page_shows_the_release_banner_and_a_live_countdown(page, owner, workspace):
    fund(wallet_of(workspace, "sms"), "0.50", key="short")
    channel = ChannelFactory(workspace=workspace, kind="sms")
    today = timezone.now().date()
    PhoneNumberFactory(channel=channel, number="+14155550111", monthly_fee=Decimal("2.00"))
    doomed = PhoneNumberFactory(
        channel=channel, number="+14155550100", status="release_scheduled", release_scheduled_for=today + timedelta(10)
    )
    for months_ago in (2, 1):
        start = today - timedelta(days=30 * months_ago)
        NumberFeeCharge.objects.create(
            phone_number=doomed, period_start=start, period_end=start + timedelta(29), amount="1.15", status="unpaid"
        )

    browser_login(page, "owner")
    page.get_by_role("link", name="Wallet", exact=True).click()

    numbers_section = page.locator(".numbers")
    banner = numbers_section.locator("[data-banner=number-release]")
    assert "+14155550100 will be released on" in banner.inner_text()
    assert re.search(r"\((10 days|(9|10)d \d+h \d+m) left\)", banner.inner_text())
    assert "2 monthly fees unpaid (US$2.30)" in banner.inner_text()
    countdown = numbers_section.locator("tr[data-number='+14155550100'] .countdown")
    # The page's script fills the countdown in; a locator assertion waits without eval (the CSP forbids it).
    expect(countdown).to_have_text(re.compile(r"^(9|10)d \d+h \d+m left$"))
    # The banner counts down to the same moment in the same words.
    expect(banner.locator(".countdown-text")).to_have_text(countdown.inner_text())
    assert numbers_section.locator("tr[data-number='+14155550111'] td.num").first.inner_text() == "US$2.00"
    expect(numbers_section.get_by_role("link", name="Buy a number")).to_be_visible()


def test_an_admin_sees_the_fee_then_buys_a_number(page, owner, workspace):
    NumberPriceFactory(country="US", monthly_fee=Decimal("1.15"))
    ChannelFactory(workspace=workspace, kind="sms", display_name="Acme SMS")
    fund(wallet_of(workspace, "sms"), "10.00", key="seed")
    browser_login(page, "owner")
    page.get_by_role("link", name="Wallet", exact=True).click()
    page.get_by_role("link", name="Buy a number").click()

    page.get_by_label("Phone number (E.164)").fill("+14155550123")
    page.get_by_label("Country (ISO code)").fill("US")
    page.get_by_role("button", name="See the monthly fee").click()
    assert page.locator("[data-fee]").inner_text() == "US$1.15"
    page.screenshot(path=str(ARTIFACTS / "number_purchase_review.png"), full_page=True)
    page.get_by_role("button", name="Buy and pay US$1.15").click()

    assert "+14155550123 is yours" in page.locator(".message-success").inner_text()
    assert page.locator("[data-wallet=sms] .balance").inner_text() == "US$8.85"
    expect(page.locator("tr[data-number='+14155550123']")).to_be_visible()
