from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ChannelFactory, NumberPriceFactory, PhoneNumberFactory, fund, wallet_of
from usage.models import NumberFeeCharge, PhoneNumber
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(workspace):
    NumberPriceFactory(country="US", monthly_fee=Decimal("1.15"))
    return ChannelFactory(workspace=workspace, kind="sms", display_name="Acme SMS")


def url(workspace) -> str:
    return reverse("number_purchase", args=[workspace.slug])


def form(channel, **extra) -> dict:
    return {"channel": channel.id, "number": "+14155550100", "country": "us", **extra}


def test_the_fee_is_shown_before_anything_is_bought(owner_client, workspace, channel):
    fund(wallet_of(workspace, "sms"), "10")
    response = owner_client.post(url(workspace), form(channel))
    assert response.status_code == 200
    assert b"Buy and pay US$1.15" in response.content
    assert b'data-fee="1.150000"' in response.content
    assert PhoneNumber.objects.count() == 0


def test_confirming_buys_the_number_and_charges_the_first_month(owner_client, owner, workspace, channel):
    fund(wallet_of(workspace, "sms"), "10")
    with time_machine.travel(datetime(2026, 7, 15, 10, tzinfo=UTC), tick=False):
        response = owner_client.post(url(workspace), form(channel, confirm="1", expected_fee="1.150000"))
    assert response.status_code == 302
    assert response["Location"] == reverse("sms_wallet", args=[workspace.slug])
    phone = PhoneNumber.objects.get()
    assert (phone.number, phone.country, phone.monthly_fee, phone.channel) == (
        "+14155550100",
        "US",
        Decimal("1.150000"),
        channel,
    )
    charge = NumberFeeCharge.objects.get()
    assert (charge.period_start.isoformat(), charge.status, charge.amount) == ("2026-07-15", "charged", Decimal("1.15"))
    assert charge.posting.amount == Decimal("-1.150000")
    assert charge.posting.created_by == owner
    assert wallet_of(workspace, "sms").balance == Decimal("8.850000")


def test_a_short_balance_is_refused_at_the_review_with_a_clear_message(owner_client, workspace, channel):
    fund(wallet_of(workspace, "sms"), "1.00")
    response = owner_client.post(url(workspace), form(channel))
    assert response.status_code == 400
    assert b"Your SMS balance (US$1.00) does not cover the first monthly fee of US$1.15" in response.content
    assert b"Buy and pay" not in response.content
    response = owner_client.post(url(workspace), form(channel, confirm="1", expected_fee="1.15"))
    assert response.status_code == 400
    assert PhoneNumber.objects.count() == 0
    assert WalletTransaction.objects.filter(kind="number_fee").count() == 0


def test_a_fee_that_changed_since_it_was_shown_is_refused(owner_client, workspace, channel):
    fund(wallet_of(workspace, "sms"), "10")
    response = owner_client.post(url(workspace), form(channel, confirm="1", expected_fee="0.99"))
    assert response.status_code == 400
    assert b"The monthly fee changed to US$1.15" in response.content
    assert PhoneNumber.objects.count() == 0


def test_a_confirmation_without_a_reviewed_fee_is_refused(owner_client, workspace, channel):
    fund(wallet_of(workspace, "sms"), "10")
    response = owner_client.post(url(workspace), form(channel, confirm="1", expected_fee="abc"))
    assert response.status_code == 400
    assert PhoneNumber.objects.count() == 0


def test_another_workspace_channel_is_not_a_choice(owner_client, workspace, other_workspace, channel):
    foreign = ChannelFactory(workspace=other_workspace, kind="sms")
    response = owner_client.post(url(workspace), form(foreign))
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert PhoneNumber.objects.count() == 0


def test_staff_cannot_buy_and_outsiders_do_not_see_the_page(client, teammate, outsider, workspace, channel):
    client.force_login(teammate)
    assert client.get(url(workspace)).status_code == 403
    client.force_login(outsider)
    assert client.post(url(workspace), form(channel)).status_code == 404
    assert PhoneNumber.objects.count() == 0


def test_the_sms_wallet_page_lists_numbers_with_the_release_countdown(owner_client, workspace, channel):
    fund(wallet_of(workspace, "sms"), "10")
    phone = PhoneNumberFactory(
        channel=channel, status="release_scheduled", release_scheduled_for=datetime(2026, 10, 14).date()
    )
    NumberFeeCharge.objects.create(
        phone_number=phone, period_start="2026-08-15", period_end="2026-09-14", amount="1.15", status="unpaid"
    )
    NumberFeeCharge.objects.create(
        phone_number=phone, period_start="2026-09-15", period_end="2026-10-13", amount="1.15", status="unpaid"
    )
    with time_machine.travel(datetime(2026, 9, 20, 12, tzinfo=UTC), tick=False):
        response = owner_client.get(reverse("sms_wallet", args=[workspace.slug]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'will be released on 14 Oct 2026</strong>\n    (<span class="countdown-text"' in body
    assert "24 days left</span>): 2 monthly fees unpaid (US$2.30)" in body
    assert 'data-release-at="2026-10-14T00:00:00+00:00"' in body
    assert body.count(">24 days left</span>") == 2  # the banner and the table say the same


def test_a_released_number_shows_its_written_off_fees_and_no_banner(owner_client, workspace, channel):
    phone = PhoneNumberFactory(
        channel=channel,
        status="released",
        release_scheduled_for=datetime(2026, 10, 14).date(),
        released_at=datetime(2026, 10, 14, 4, tzinfo=UTC),
    )
    for start, end in (("2026-08-15", "2026-09-14"), ("2026-09-15", "2026-10-13")):
        NumberFeeCharge.objects.create(
            phone_number=phone, period_start=start, period_end=end, amount="1.15", status="written_off"
        )
    response = owner_client.get(reverse("sms_wallet", args=[workspace.slug]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "2 written off" in body
    assert "Released 14 Oct 2026" in body
    assert 'data-banner="number-release"' not in body


@pytest.mark.parametrize("holder", ["other_workspace", "workspace"])
def test_a_number_held_by_any_workspace_reads_not_available_and_nothing_is_charged(
    owner_client, workspace, other_workspace, channel, holder
):
    fund(wallet_of(workspace, "sms"), "10")
    owner = other_workspace if holder == "other_workspace" else workspace
    PhoneNumberFactory(channel=ChannelFactory(workspace=owner, kind="sms"), number="+14155550100")
    before = WalletTransaction.objects.count()

    for extra in ({}, {"confirm": "1", "expected_fee": "1.15"}):
        response = owner_client.post(url(workspace), form(channel, **extra))

        assert response.status_code == 400
        assert response.context["refusal"] == "+14155550100 is not available. Choose another number."
        assert b"already held" not in response.content
    assert PhoneNumber.objects.filter(channel=channel).count() == 0
    assert WalletTransaction.objects.count() == before


@pytest.mark.parametrize("fee", ["sNaN", "NaN", "1e309", "1,15", "٣"])
def test_a_junk_reviewed_fee_is_refused_without_a_purchase(owner_client, workspace, channel, fee):
    fund(wallet_of(workspace, "sms"), "10")

    response = owner_client.post(url(workspace), form(channel, confirm="1", expected_fee=fee))

    assert response.status_code == 400
    assert response.context["refusal"] == "Review the monthly fee before confirming the purchase."
    assert PhoneNumber.objects.count() == 0
    assert WalletTransaction.objects.filter(kind="number_fee").count() == 0
