"""The authorization API's cached route never outlives the data it came from.

Real commits (transaction=True): the cache is invalidated by what happens after a
commit, so the tests must commit like production does.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import default_price_list, fund, wallet_of
from usage.authz_cache import numbers_version_key, redis_client
from usage.models import PhoneNumber
from usage.services import usage_ingest
from wallets.models import WalletTransaction
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db(transaction=True)


def authorize(client, key, ref):
    response = client.post(
        "/api/v1/authorize",
        {"channel": ref, "direction": "outbound", "type": "sms"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    return response.json()


def test_a_posting_that_empties_the_wallet_blocks_the_very_next_call(client, key, number, workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "0.500000", key="fund")
    assert authorize(client, key, "+14155550100") == {"allowed": True, "reason": None, "balance": "0.500000"}
    assert authorize(client, key, number.channel_id)["allowed"] is True  # both routes now cached

    ledger_post(wallet_id=wallet.id, kind="message_charge", amount=Decimal("-0.500000"), idempotency_key="empty")

    blocked = {"allowed": False, "reason": "sms_wallet_empty", "balance": "0.000000"}
    assert authorize(client, key, "+14155550100") == blocked
    assert authorize(client, key, number.channel_id) == blocked
    fund(wallet, "1.000000", key="again")
    assert authorize(client, key, "+14155550100")["allowed"] is True


def test_usage_ingested_through_the_api_path_flips_the_answer_too(client, key, number, workspace):
    default_price_list()
    fund(wallet_of(workspace, "sms"), "0.010000", key="fund")
    assert authorize(client, key, "+14155550100")["allowed"] is True
    event = {"id": "m1", "channel": "+14155550100", "type": "sms", "direction": "outbound", "status": "delivered"}
    usage_ingest(
        workspace=workspace, events=[event | {"country": "US", "segments": 1, "occurred_at": "2026-11-20T09:00:00Z"}]
    )

    assert authorize(client, key, "+14155550100")["allowed"] is False
    assert WalletTransaction.objects.filter(kind="message_charge").count() == 1


def test_releasing_a_cached_number_blocks_it_at_once(client, key, number, workspace):
    fund(wallet_of(workspace, "sms"), "5.000000", key="fund")
    assert authorize(client, key, "+14155550100")["allowed"] is True

    number.status = PhoneNumber.Status.RELEASED
    number.save(update_fields=["status"])

    assert authorize(client, key, "+14155550100") == {
        "allowed": False,
        "reason": "number_released",
        "balance": "5.000000",
    }


def test_a_cached_call_reads_the_api_key_and_the_balance_only(client, key, number, workspace):
    fund(wallet_of(workspace, "sms"), "5.000000", key="fund")
    authorize(client, key, "+14155550100")
    with CaptureQueriesContext(connection) as queries:
        authorize(client, key, "+14155550100")
    tables = [query["sql"].split("FROM")[1].split()[0] for query in queries.captured_queries]
    assert tables == ['"usage_apikey"', '"wallets_wallet"']


def test_a_lost_version_key_never_revives_an_old_route(client, key, number, workspace):
    fund(wallet_of(workspace, "sms"), "5.000000", key="fund")
    assert authorize(client, key, "+14155550100")["allowed"] is True
    redis_client().delete(numbers_version_key(workspace.id))  # evicted
    number.status = PhoneNumber.Status.RELEASED
    number.save(update_fields=["status"])

    assert authorize(client, key, "+14155550100")["reason"] == "number_released"
