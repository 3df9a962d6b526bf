import pytest

from tests.factories import ChannelFactory, PhoneNumberFactory, api_key_for, default_price_list, fund, wallet_of
from usage.models import PhoneNumber, PriceList, UsageRecord

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize"


@pytest.fixture
def key(workspace):
    return api_key_for(workspace)


@pytest.fixture
def sms_channel(workspace):
    channel = ChannelFactory(workspace=workspace, kind="sms")
    PhoneNumberFactory(channel=channel, number="+14155550100")
    return channel


@pytest.fixture
def whatsapp_channel(workspace):
    return ChannelFactory(workspace=workspace, kind="whatsapp_cloud")


def authorize(client, key, **payload):
    return client.post(URL, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_sms_is_suspended_both_ways_at_zero_and_resumes_after_a_credit(client, key, sms_channel, workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "0.010000", key="a")
    assert authorize(client, key, channel=sms_channel.id, direction="outbound", type="sms").json() == {
        "allowed": True,
        "reason": None,
        "balance": "0.010000",
    }

    fund(wallet, "-0.010000", key="b")  # exactly zero
    for direction in ("outbound", "inbound"):
        for message_type in ("sms", "mms"):
            response = authorize(client, key, channel="+14155550100", direction=direction, type=message_type)
            assert response.status_code == 200
            assert response.json() == {"allowed": False, "reason": "sms_wallet_empty", "balance": "0.000000"}

    fund(wallet, "20.00", key="c")
    response = authorize(client, key, channel=sms_channel.id, direction="inbound", type="sms")
    assert response.json() == {"allowed": True, "reason": None, "balance": "20.000000"}


def test_whatsapp_sending_pauses_below_zero_not_at_zero_and_resumes_after_a_credit(
    client, key, whatsapp_channel, workspace
):
    wallet = wallet_of(workspace, "whatsapp")
    assert authorize(client, key, channel=whatsapp_channel.id, direction="outbound", type="whatsapp").json() == {
        "allowed": True,
        "reason": None,
        "balance": "0.000000",
    }

    fund(wallet, "-0.000001", key="a")
    outbound = authorize(client, key, channel=whatsapp_channel.id, direction="outbound", type="whatsapp")
    assert outbound.json() == {"allowed": False, "reason": "whatsapp_balance_negative", "balance": "-0.000001"}
    inbound = authorize(client, key, channel=whatsapp_channel.id, direction="inbound", type="whatsapp")
    assert inbound.json()["allowed"] is True  # customers' messages still arrive

    fund(wallet, "20.00", key="b")
    outbound = authorize(client, key, channel=whatsapp_channel.id, direction="outbound", type="whatsapp")
    assert outbound.json() == {"allowed": True, "reason": None, "balance": "19.999999"}


def test_a_released_number_may_not_send(client, key, sms_channel, workspace):
    fund(wallet_of(workspace, "sms"), "10.00", key="a")
    PhoneNumber.objects.filter(number="+14155550100").update(status="released")

    by_number = authorize(client, key, channel="+14155550100", direction="outbound", type="sms")
    by_channel = authorize(client, key, channel=sms_channel.id, direction="outbound", type="sms")

    assert by_number.json() == {"allowed": False, "reason": "number_released", "balance": "10.000000"}
    assert by_channel.json() == by_number.json()


def test_a_channel_of_another_workspace_is_404_like_an_unknown_one(client, other_workspace, sms_channel):
    other_key = api_key_for(other_workspace)
    theirs = authorize(client, other_key, channel=sms_channel.id, direction="outbound", type="sms")
    by_number = authorize(client, other_key, channel="+14155550100", direction="outbound", type="sms")
    unknown = authorize(client, other_key, channel=987654, direction="outbound", type="sms")

    assert theirs.status_code == by_number.status_code == unknown.status_code == 404
    assert theirs.json() == by_number.json() == unknown.json()
    assert theirs.json()["errors"] == [
        {"index": None, "field": "channel", "message": "No such channel in this workspace."}
    ]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"direction": "outbound", "type": "sms"}, ["channel"]),
        ({"channel": "x", "direction": "up", "type": "fax"}, ["channel", "direction", "type"]),
    ],
)
def test_bad_requests_name_every_bad_field(client, key, sms_channel, payload, fields):
    response = authorize(client, key, **payload)

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == fields


def test_a_type_the_channel_cannot_carry_is_400(client, key, sms_channel):
    response = authorize(client, key, channel=sms_channel.id, direction="outbound", type="whatsapp")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "type"


def test_without_a_key_the_answer_is_401(client, sms_channel):
    response = client.post(URL, {"channel": sms_channel.id}, content_type="application/json")

    assert response.status_code == 401


def test_with_the_setting_off_a_whatsapp_send_is_allowed_until_the_balance_is_negative(
    client, key, whatsapp_channel, workspace
):
    default_price_list()
    fund(wallet_of(workspace, "whatsapp"), "0.010000", key="a")  # below GB marketing's 0.0529

    response = authorize(
        client, key, channel=whatsapp_channel.id, direction="outbound", type="whatsapp", category="marketing",
        country="GB",
    )  # fmt: skip

    assert response.json() == {"allowed": True, "reason": None, "balance": "0.010000"}


def test_with_the_setting_on_a_send_the_balance_cannot_cover_is_refused(client, key, whatsapp_channel, workspace):
    default_price_list()
    PriceList.objects.update(whatsapp_authorize_covers_price=True)
    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "0.052899", key="a")  # one micro-dollar short of GB marketing
    send = {"channel": whatsapp_channel.id, "direction": "outbound", "type": "whatsapp", "country": "GB"}

    short = authorize(client, key, **send, category="marketing")
    assert short.status_code == 200
    assert short.json() == {"allowed": False, "reason": "whatsapp_balance_below_price", "balance": "0.052899"}
    cheaper = authorize(client, key, **send, category="utility")  # 0.022
    assert cheaper.json()["allowed"] is True
    free = authorize(client, key, **send, category="marketing", pricing_type="free_entry_point")
    assert free.json()["allowed"] is True
    inbound = authorize(client, key, **send | {"direction": "inbound"})
    assert inbound.json()["allowed"] is True  # receiving is never priced

    fund(wallet, "0.000001", key="b")
    assert authorize(client, key, **send, category="marketing").json()["allowed"] is True
    assert not UsageRecord.objects.exists()  # asking writes nothing


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"country": "GB"}, "category"),
        ({"category": "marketing"}, "country"),
        ({"category": "x", "country": "GB"}, "category"),
    ],
)
def test_with_the_setting_on_a_whatsapp_send_must_say_what_it_sends(
    client, key, whatsapp_channel, workspace, fields, field
):
    default_price_list()
    PriceList.objects.update(whatsapp_authorize_covers_price=True)
    fund(wallet_of(workspace, "whatsapp"), "5.00", key="a")

    response = authorize(client, key, channel=whatsapp_channel.id, direction="outbound", type="whatsapp", **fields)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
