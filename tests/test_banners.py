"""Balance banners in the app shell, at each threshold of wallets.selectors.wallet_status."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import ChannelFactory, PhoneNumberFactory, fund, wallet_of
from usage.models import PhoneNumber
from wallets.selectors import WalletState, wallet_status

pytestmark = pytest.mark.django_db


def banners(client, workspace, page="workspace_home") -> str:
    return client.get(reverse(page, args=[workspace.slug])).content.decode()


@pytest.mark.parametrize(
    ("whatsapp", "expected"),
    [("20.00", None), ("19.99", "whatsapp-low"), ("0.00", "whatsapp-low"), ("-0.01", "whatsapp-paused")],
)
def test_whatsapp_banners_follow_the_thresholds(owner_client, workspace, whatsapp, expected):
    fund(wallet_of(workspace, "sms"), "5.00", key="b1")
    if whatsapp != "0.00":
        fund(wallet_of(workspace, "whatsapp"), whatsapp, key="b2")
    html = banners(owner_client, workspace)
    for name in ("whatsapp-low", "whatsapp-paused"):
        assert (f'data-banner="{name}"' in html) == (name == expected)
    if expected:
        assert f'href="{reverse("whatsapp_billing", args=[workspace.slug])}' in html


@pytest.mark.parametrize(("sms", "suspended"), [("0.01", False), ("0.00", True), ("-1.00", True)])
def test_the_sms_banner_appears_when_the_wallet_is_empty(owner_client, workspace, sms, suspended):
    fund(wallet_of(workspace, "whatsapp"), "100.00", key="b3")
    if sms != "0.00":
        fund(wallet_of(workspace, "sms"), sms, key="b4")
    html = banners(owner_client, workspace, "sms_wallet")
    assert ('data-banner="sms-suspended"' in html) == suspended
    if suspended:
        assert "SMS and MMS suspended" in html
        assert f'<a href="{reverse("sms_wallet", args=[workspace.slug])}">Go to SMS wallet</a>' in html


def test_the_conversation_view_shows_paused_sending_and_disables_the_composer(owner_client, workspace):
    fund(wallet_of(workspace, "whatsapp"), "-2.00", key="b5")
    html = banners(owner_client, workspace, "conversations")
    assert html.count('data-banner="whatsapp-paused"') == 2  # shell and conversation window
    assert "Insufficient WhatsApp balance (-US$2.00): sending is paused." in html
    assert 'id="composer-text" placeholder="Type a WhatsApp message" disabled' in html


def test_staff_see_that_messaging_stopped_but_no_amounts(client, teammate, workspace):
    fund(wallet_of(workspace, "whatsapp"), "-2.00", key="b6")
    client.force_login(teammate)
    html = banners(client, workspace, "conversations")
    assert "sending is paused" in html and "Ask a workspace admin to top up" in html
    assert "US$" not in html and "whatsapp_billing" not in html


def test_manage_wallet_appears_on_the_sms_channel_page_once_a_number_is_owned(owner_client, workspace):
    channel = ChannelFactory(workspace=workspace, display_name="US line")
    assert "Manage wallet" not in banners(owner_client, workspace, "sms_channel")
    number = PhoneNumberFactory(channel=channel)
    assert "Manage wallet" in banners(owner_client, workspace, "sms_channel")
    PhoneNumber.objects.filter(pk=number.pk).update(status="released")
    assert "Manage wallet" not in banners(owner_client, workspace, "sms_channel")


def test_staff_do_not_get_manage_wallet(client, teammate, workspace):
    PhoneNumberFactory(channel=ChannelFactory(workspace=workspace))
    client.force_login(teammate)
    html = banners(client, workspace, "sms_channel")
    assert "Manage wallet" not in html and "Only workspace admins can manage the SMS wallet." in html


def test_the_sms_low_balance_threshold_is_its_own_setting(owner_client, workspace, settings):
    """WHATSAPP_LOW_BALANCE used to set the SMS wallet's threshold as well."""
    fund(wallet_of(workspace, "whatsapp"), "30.00", key="b5")
    fund(wallet_of(workspace, "sms"), "30.00", key="b6")
    settings.WHATSAPP_LOW_BALANCE = Decimal("50")
    settings.SMS_LOW_BALANCE = Decimal("5")

    assert wallet_status(kind="whatsapp", balance=Decimal("30")).state == WalletState.LOW
    assert wallet_status(kind="sms", balance=Decimal("30")).state == WalletState.OK
    assert wallet_status(kind="sms", balance=Decimal("4.99")).state == WalletState.LOW
    html = banners(owner_client, workspace)
    assert 'data-banner="whatsapp-low"' in html
    assert "Your WhatsApp balance is US$30.00, below US$50. Top up to keep sending." in html
