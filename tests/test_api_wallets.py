from decimal import Decimal

import pytest

from tests.factories import api_key_for, fund, wallet_of
from wallets.models import AutoTopUpRule

pytestmark = pytest.mark.django_db


def test_each_wallet_is_listed_with_balance_state_and_auto_top_up(client, workspace, other_workspace):
    fund(wallet_of(workspace, "whatsapp"), "12.50", key="a")
    AutoTopUpRule.objects.create(
        wallet=wallet_of(workspace, "whatsapp"), enabled=True, threshold=Decimal("20"), amount=Decimal("100")
    )
    fund(wallet_of(other_workspace, "sms"), "99.00", key="b")

    response = client.get("/api/v1/wallets", HTTP_AUTHORIZATION=f"Bearer {api_key_for(workspace)}")

    assert response.status_code == 200
    assert response.json() == [
        {"kind": "sms", "currency": "USD", "balance": "0.000000", "state": "suspended", "auto_top_up": None},
        {
            "kind": "whatsapp",
            "currency": "USD",
            "balance": "12.500000",
            "state": "low",
            "auto_top_up": {"enabled": True, "threshold": "20.000000", "amount": "100.000000"},
        },
    ]


def test_wallets_need_a_key(client, workspace):
    assert client.get("/api/v1/wallets").status_code == 401
