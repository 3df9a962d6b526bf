"""Every error of the JSON API is JSON in the documented shape, whatever went wrong: bodies
that do not parse or nest too deeply (400), bodies over the limit (413), an unknown
endpoint (404), and a database or Redis that cannot be reached (503 with Retry-After).
Nothing is recorded or charged by any of them."""

import json
from decimal import Decimal
from unittest import mock

import pytest
import redis
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from tests.factories import api_key_for, priced_sms_channel, wallet_of
from usage import authz_cache
from usage.models import UsageRecord
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db


def _event(n: int = 1) -> dict:
    return {
        "id": f"msg-{n}",
        "channel": "+14155550100",
        "type": "sms",
        "direction": "outbound",
        "status": "delivered",
        "country": "US",
        "segments": 1,
        "occurred_at": "2026-11-20T10:00:00Z",
    }


@pytest.fixture
def api(client, workspace):
    priced_sms_channel(workspace)
    secret = api_key_for(workspace)

    def post(path: str, body: bytes | str):
        return client.post(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")

    return post


def _only_error(response) -> dict:
    assert response["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    return error


def _nothing_written(workspace) -> None:
    assert UsageRecord.objects.count() == 0
    assert not WalletTransaction.objects.filter(kind="message_charge").exists()
    assert wallet_of(workspace, "sms").balance == Decimal("10.000000")


@pytest.mark.parametrize("path", ["/api/v1/usage", "/api/v1/authorize", "/api/v1/estimate"])
def test_deeply_nested_json_is_a_json_400_naming_the_body(api, workspace, path):
    response = api(path, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert _only_error(response) == {"index": None, "field": "body", "message": "The JSON is nested too deeply."}
    _nothing_written(workspace)


def test_a_body_that_is_not_json_is_a_json_400(api, workspace):
    response = api("/api/v1/usage", b'{"events": [')

    assert response.status_code == 400
    error = _only_error(response)
    assert error["field"] == "body" and error["message"].startswith("JSON parse error")
    _nothing_written(workspace)


def test_a_body_over_the_limit_is_a_json_413(api, workspace, settings):
    body = json.dumps({"events": [_event()], "padding": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = api("/api/v1/usage", body)

    assert response.status_code == 413
    assert _only_error(response) == {
        "index": None,
        "field": "body",
        "message": "The request body is larger than 2,621,440 bytes, the most accepted.",
    }
    _nothing_written(workspace)


def test_an_unknown_endpoint_is_a_json_404(api):
    response = api("/api/v1/nothing-here", "{}")

    assert response.status_code == 404
    assert _only_error(response) == {"index": None, "field": None, "message": "No such endpoint."}


def _database_down(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_a_database_outage_during_a_usage_call_is_a_json_503_with_retry_after(api, workspace):
    body = json.dumps({"events": [_event()]})

    with mock.patch.object(CursorWrapper, "execute", _database_down):
        response = api("/api/v1/usage", body)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert _only_error(response) == {
        "index": None,
        "field": None,
        "message": "The service is briefly unavailable; nothing was recorded or charged. Retry shortly.",
    }
    _nothing_written(workspace)


def test_the_same_usage_call_succeeds_once_the_database_is_back(api, workspace):
    body = json.dumps({"events": [_event()]})
    with mock.patch.object(CursorWrapper, "execute", _database_down):
        assert api("/api/v1/usage", body).status_code == 503

    response = api("/api/v1/usage", body)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert UsageRecord.objects.count() == 1


def _redis_gone(monkeypatch) -> redis.Redis:
    """Every Redis call fails as it does when the server is gone: a closed port."""
    closed = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True)
    monkeypatch.setattr(authz_cache, "_client", closed)
    return closed


@pytest.fixture
def redis_down(monkeypatch):
    return _redis_gone(monkeypatch)


def test_a_redis_outage_on_authorize_is_a_json_503_with_retry_after(api, workspace, redis_down):
    body = json.dumps({"channel": "+14155550100", "direction": "outbound", "type": "sms"})

    response = api("/api/v1/authorize", body)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert _only_error(response)["message"].startswith("The service is briefly unavailable")
    _nothing_written(workspace)


@pytest.mark.django_db(transaction=True)  # the WSGI app closes the connection after each request
def test_a_redis_outage_on_authorize_through_the_fast_path_is_the_same_json_503(workspace, monkeypatch):
    from billing_portal.wsgi import django_application
    from tests.test_authorize_fast import call
    from usage.authorize_fast import fast_authorize

    priced_sms_channel(workspace)
    secret = api_key_for(workspace)
    app = fast_authorize(django_application)  # built while Redis is up, as at process start
    assert app is not django_application
    _redis_gone(monkeypatch)

    status, headers, content = call(app, secret, {"channel": "+14155550100", "direction": "outbound", "type": "sms"})

    assert status == 503
    assert headers["Retry-After"] == "5" and headers["Content-Type"] == "application/json"
    assert json.loads(content)["errors"][0]["message"].startswith("The service is briefly unavailable")
    _nothing_written(workspace)


@pytest.mark.django_db(transaction=True)  # the WSGI app closes the connection after each request
def test_deeply_nested_json_within_the_fast_paths_size_is_the_same_json_400(workspace):
    from billing_portal.wsgi import django_application
    from tests.test_authorize_fast import call
    from usage.authorize_fast import MAX_BODY, fast_authorize

    priced_sms_channel(workspace)
    secret = api_key_for(workspace)
    app = fast_authorize(django_application)
    assert app is not django_application
    depth = MAX_BODY // 2  # as deep as the fast path reads: far past Python's recursion limit

    status, headers, content = call(app, secret, b"[" * depth + b"]" * depth)

    assert status == 400 and headers["Content-Type"] == "application/json"
    assert json.loads(content) == {
        "errors": [{"index": None, "field": "body", "message": "The JSON is nested too deeply."}]
    }
    _nothing_written(workspace)
