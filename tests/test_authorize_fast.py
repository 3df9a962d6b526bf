"""The authorization fast path (usage.authorize_fast) answers exactly as the DRF view does,
never from a stale balance or a revoked key, and hands everything unusual to Django.

Real commits (transaction=True): routes and key entries are invalidated after commits.
"""

import json
import sys
from decimal import Decimal
from io import BytesIO

import pytest

from billing_portal.wsgi import django_application
from tests.factories import ChannelFactory, default_price_list, fund, wallet_of
from usage import authz_cache
from usage.authorize_fast import fast_authorize
from usage.models import ApiKey, PhoneNumber, PriceList
from usage.services import api_key_hash, api_key_revoke
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db(transaction=True)


def refuse(environ, start_response):
    raise AssertionError("handed to Django")


def call(app, secret, payload, *, content_type="application/json"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/authorize",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
    }
    if secret is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status[:3]), dict(headers)

    chunks = app(environ, start_response)
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    headers = {name: value for name, value in seen["headers"].items() if name not in ("X-Request-ID", "Vary")}
    return seen["status"], headers, content


@pytest.fixture
def fast():
    return fast_authorize(django_application)


@pytest.fixture
def fast_only():
    return fast_authorize(refuse)


def ask(ref, direction="outbound", message_type="sms"):
    return {"channel": ref, "direction": direction, "type": message_type}


def warm(app, key, payload):
    """The first call goes through Django (which caches the key and the route)."""
    status, _, _ = call(app, key, payload)
    assert status == 200


@pytest.mark.parametrize(
    ("balance", "kind", "direction", "expected"),
    [
        ("5.000000", "sms", "outbound", {"allowed": True, "reason": None, "balance": "5.000000"}),
        ("0.000000", "sms", "inbound", {"allowed": False, "reason": "sms_wallet_empty", "balance": "0.000000"}),
        ("-1.250000", "whatsapp", "outbound",
         {"allowed": False, "reason": "whatsapp_balance_negative", "balance": "-1.250000"}),
        ("-1.250000", "whatsapp", "inbound", {"allowed": True, "reason": None, "balance": "-1.250000"}),
    ],
)  # fmt: skip
def test_the_fast_answer_is_the_views_answer_byte_for_byte(
    fast, fast_only, key, workspace, balance, kind, direction, expected
):
    channel = ChannelFactory(workspace=workspace, kind="sms" if kind == "sms" else "whatsapp_cloud")
    if Decimal(balance):
        fund(wallet_of(workspace, kind), balance, key="set")
    payload = ask(channel.id, direction, "sms" if kind == "sms" else "whatsapp")
    view = call(django_application, key, payload)
    warm(fast, key, payload)
    answered = call(fast_only, key, payload)
    assert json.loads(answered[2]) == expected
    assert answered == view


def test_a_whatsapp_send_that_must_be_covered_is_handed_to_django_which_prices_it(fast, fast_only, key, workspace):
    default_price_list()
    PriceList.objects.update(whatsapp_authorize_covers_price=True)
    channel = ChannelFactory(workspace=workspace, kind="whatsapp_cloud")
    fund(wallet_of(workspace, "whatsapp"), "0.010000", key="fund")
    payload = ask(channel.id, "outbound", "whatsapp") | {"category": "marketing", "country": "GB"}
    warm(fast, key, payload)

    with pytest.raises(AssertionError, match="handed to Django"):
        call(fast_only, key, payload)
    assert json.loads(call(fast, key, payload)[2])["reason"] == "whatsapp_balance_below_price"
    inbound = ask(channel.id, "inbound", "whatsapp")
    assert json.loads(call(fast_only, key, inbound)[2])["allowed"] is True  # receiving stays on the fast path


def test_a_released_number_is_refused_on_the_fast_path_after_the_release(fast, fast_only, key, number):
    fund(wallet_of(number.channel.workspace, "sms"), "5.000000", key="fund")
    warm(fast, key, ask("+14155550100"))
    assert json.loads(call(fast_only, key, ask("+14155550100"))[2])["allowed"] is True

    number.status = PhoneNumber.Status.RELEASED
    number.save(update_fields=["status"])

    assert json.loads(call(fast, key, ask("+14155550100"))[2])["reason"] == "number_released"
    assert json.loads(call(fast_only, key, ask("+14155550100"))[2])["reason"] == "number_released"


def test_the_posting_that_empties_the_wallet_blocks_the_next_fast_call(fast, fast_only, key, number, workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "0.500000", key="fund")
    warm(fast, key, ask(number.channel_id))
    assert json.loads(call(fast_only, key, ask(number.channel_id))[2])["allowed"] is True

    ledger_post(wallet_id=wallet.id, kind="message_charge", amount=Decimal("-0.500000"), idempotency_key="empty")

    assert json.loads(call(fast_only, key, ask(number.channel_id))[2]) == {
        "allowed": False,
        "reason": "sms_wallet_empty",
        "balance": "0.000000",
    }


def test_a_revoked_key_is_refused_at_once_even_with_a_warm_entry(fast, key, number, workspace):
    warm(fast, key, ask(number.channel_id))
    api_key_revoke(api_key=ApiKey.objects.get(key_hash=api_key_hash(key)))

    status, _, content = call(fast, key, ask(number.channel_id))
    assert status == 401
    assert json.loads(content)["errors"][0]["field"] == "Authorization"


def test_a_key_read_before_its_revocation_is_not_cached_again_as_active(key, number):
    key_hash = api_key_hash(key)
    authz_cache.key_forget(key_hash=key_hash)
    authz_cache.key_remember(key_hash=key_hash, entry=authz_cache.KeyEntry(1, 1, 2_000_000_000))
    assert authz_cache.redis_client().get(authz_cache.key_entry_key(key_hash)) == authz_cache.REVOKED


def test_a_deleted_key_is_refused_at_once(fast, key, number):
    warm(fast, key, ask(number.channel_id))
    ApiKey.objects.filter(key_hash=api_key_hash(key)).delete()
    assert call(fast, key, ask(number.channel_id))[0] == 401


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"{not json", "application/json"),
        ({"channel": "abc", "direction": "sideways"}, "application/json"),
        (ask(1)["channel"], "application/json"),
        (ask("+14155550100", message_type="whatsapp"), "application/json"),
        (ask(99999999), "application/json"),
        (ask("+14155550100"), "text/plain"),
    ],
    ids=["bad-json", "bad-fields", "not-an-object", "type-misfit", "other-channel", "content-type"],
)
def test_unusual_calls_are_answered_by_django_exactly_as_before(fast, key, number, payload, content_type):
    warm(fast, key, ask("+14155550100"))
    assert call(fast, key, payload, content_type=content_type) == call(
        django_application, key, payload, content_type=content_type
    )
    assert call(fast, key, payload, content_type=content_type)[0] in (400, 404, 415)


def test_no_key_or_an_unknown_key_is_answered_by_django(fast, number):
    assert call(fast, None, ask(number.channel_id))[0] == 401
    assert call(fast, "bk_unknown", ask(number.channel_id))[0] == 401


def test_each_call_is_counted_once_and_the_one_over_the_rate_gets_429(settings, key, number):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"authorize": "3/min"}}
    fast = fast_authorize(django_application)
    # 1 goes through Django (cold), 2 and 3 are answered fast, 4 is over the rate:
    # the fast path counts it and hands it on with its count; DRF answers 429 without counting again.
    statuses = [call(fast, key, ask(number.channel_id))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    window, _ = authz_cache.throttle_window(60)
    api_key_id = ApiKey.objects.get(key_hash=api_key_hash(key)).pk
    assert int(authz_cache.redis_client().get(authz_cache.throttle_key("authorize", api_key_id, window))) == 4


def test_a_key_due_for_its_last_use_stamp_goes_through_django_which_records_it(fast, key, number):
    warm(fast, key, ask(number.channel_id))
    api_key = ApiKey.objects.get(key_hash=api_key_hash(key))
    entry = authz_cache.KeyEntry(api_key.pk, api_key.workspace_id, 0)  # last use long ago
    authz_cache.redis_client().set(authz_cache.key_entry_key(api_key.key_hash), entry.encode())
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=None)

    assert call(fast, key, ask(number.channel_id))[0] == 200

    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_a_database_error_on_the_fast_path_hands_the_call_to_django(fast, key, number, monkeypatch):
    fund(wallet_of(number.channel.workspace, "sms"), "2.000000", key="fund")
    warm(fast, key, ask(number.channel_id))
    monkeypatch.setattr("usage.authorize_fast.BALANCE_SQL", "SELECT balance FROM no_such_table WHERE id = %s")

    status, _, content = call(fast, key, ask(number.channel_id))

    assert status == 200
    assert json.loads(content)["balance"] == "2.000000"
