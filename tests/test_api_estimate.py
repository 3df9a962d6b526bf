import pytest
from django.utils import timezone

from tests.factories import (
    ChannelFactory,
    api_key_for,
    fund,
    priced_sms_channel,
    tiered_whatsapp_price_list,
    wallet_of,
)
from usage.services import usage_ingest
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

URL = "/api/v1/estimate"


@pytest.fixture
def key(workspace):
    priced_sms_channel(workspace)
    return api_key_for(workspace)


def estimate(client, key, **payload):
    return client.post(URL, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_broadcast_is_priced_per_segment_and_checked_against_the_balance(client, key):
    response = estimate(client, key, channel="+14155550100", type="sms", country="US", body="€" * 81, recipients=400)

    assert response.status_code == 200
    assert response.json() == {
        "unit_price": "0.007900",
        "segments": 2,
        "cost_per_message": "0.015800",
        "carrier_fee_per_message": "0.006000",
        "total_per_message": "0.021800",
        "recipients": 400,
        "total": "8.720000",
        "balance": "10.000000",
        "balance_after": "1.280000",
        "covered": True,
        "pricing_model": "",
        "tier": None,
        "tiers": [],
    }
    assert WalletTransaction.objects.count() == 1  # an estimate writes nothing


def test_a_broadcast_beyond_the_balance_is_not_covered(client, key):
    response = estimate(client, key, channel="+14155550100", type="sms", country="GB", segments=3, recipients=100)

    assert response.json()["total"] == "12.000000"
    assert response.json()["covered"] is False
    assert response.json()["balance_after"] == "-2.000000"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "sms", "country": "US", "segments": 1}, "recipients"),
        ({"type": "sms", "country": "US", "segments": 1, "recipients": 0}, "recipients"),
        ({"type": "sms", "country": "US", "segments": -2, "recipients": 5}, "segments"),
        ({"type": "sms", "country": "US", "body": "a" * 2000, "recipients": 5}, "body"),
        ({"type": "sms", "country": "United States", "segments": 1, "recipients": 5}, "country"),
        ({"type": "whatsapp", "category": "marketing", "country": "US", "recipients": 5}, "type"),
        ({"type": "telegram", "country": "US", "recipients": 5}, "type"),
    ],
)
def test_bad_estimates_are_400_naming_the_field(client, key, payload, field):
    response = estimate(client, key, channel="+14155550100", **payload)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_another_workspaces_channel_is_404(client, key, other_workspace):
    response = estimate(
        client, api_key_for(other_workspace), channel="+14155550100", type="sms", country="US", segments=1, recipients=1
    )

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "channel"


def test_a_whatsapp_broadcast_crossing_tier_boundaries_is_priced_part_at_each_rate(client, workspace):
    tiered_whatsapp_price_list()
    channel = ChannelFactory(workspace=workspace, kind="whatsapp_cloud")
    fund(wallet_of(workspace, "whatsapp"), "1.00", key="fund-wa")
    sent = timezone.now().isoformat()
    usage_ingest(
        workspace=workspace,
        events=[
            {"id": f"u{n}", "channel": channel.id, "type": "whatsapp", "category": "utility", "direction": "outbound",
             "status": "delivered", "country": "US", "occurred_at": sent}
            for n in range(4)
        ],
    )  # fmt: skip

    response = estimate(
        client, api_key_for(workspace), channel=channel.id, type="whatsapp", category="utility", country="US",
        recipients=10,
    )  # fmt: skip

    assert response.status_code == 200
    body = response.json()
    assert body["tier"] == 1  # the 5th message of the month is still in tier 1
    assert body["tiers"] == [
        {"tier": 1, "first_message": 5, "messages": 1, "unit_price": "0.010000", "cost": "0.010000"},
        {"tier": 2, "first_message": 6, "messages": 5, "unit_price": "0.005000", "cost": "0.025000"},
        {"tier": 3, "first_message": 11, "messages": 4, "unit_price": "0.002000", "cost": "0.008000"},
    ]
    assert (body["total"], body["pricing_model"]) == ("0.043000", "per_message")
    assert body["balance_after"] == "0.917000"  # 1.00 - 4 x 0.010 sent - 0.043
