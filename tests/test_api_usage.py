import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.factories import api_key_for, priced_sms_channel, wallet_of
from usage.models import DailyUsageRollup, UsageRecord
from usage.services import api_key_revoke
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage"


@pytest.fixture
def sms_channel(workspace):
    return priced_sms_channel(workspace, balance="5.00")


@pytest.fixture
def key(workspace):
    return api_key_for(workspace)


def post(client, key, payload, **extra):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(URL, body, content_type="application/json", **headers, **extra)


def event(**fields):
    return {
        "id": "m1",
        "channel": "+14155550100",
        "type": "sms",
        "direction": "outbound",
        "status": "delivered",
        "country": "US",
        "segments": 2,
        "occurred_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
    } | fields


def assert_nothing_written():
    assert not UsageRecord.objects.exists()
    assert not DailyUsageRollup.objects.exists()
    assert not WalletTransaction.objects.filter(kind__in=["message_charge", "carrier_fee"]).exists()


def test_a_batch_is_recorded_charged_and_answered_with_balances(client, key, sms_channel, workspace):
    response = post(
        client, key, {"events": [event(), event(id="m2", channel=sms_channel.id, segments=None, body="hi")]}
    )

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "charged": {"sms": "0.032700", "whatsapp": "0.000000"},
        "balances": {"sms": "4.967300", "whatsapp": "0.000000"},
    }
    assert wallet_of(workspace, "sms").balance == Decimal("4.967300")
    assert sorted(UsageRecord.objects.values_list("message_id", "segments")) == [("m1", 2), ("m2", 1)]


def test_a_replayed_batch_is_answered_as_duplicates_and_charges_nothing(client, key, sms_channel, workspace):
    post(client, key, {"events": [event()]})
    response = post(client, key, {"events": [event()]})

    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["duplicates"]) == (0, 1)
    assert response.json()["charged"]["sms"] == "0.000000"
    assert WalletTransaction.objects.filter(kind="message_charge").count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"channel": "+19999999999"}, "channel", "No such channel in this workspace."),
        ({"channel": 999999}, "channel", "No such channel in this workspace."),
        ({"channel": "sms-1"}, "channel", "Must be a channel id or a phone number in E.164 form"),
        ({"channel": 2**70}, "channel", "Must be a channel id or a phone number in E.164 form"),
        ({"id": "m\x00"}, "id", "Must not contain control characters."),
        ({"type": "fax"}, "type", "Must be one of: sms, mms, whatsapp."),
        ({"type": "whatsapp", "category": "marketing"}, "type", "type must be sms or mms"),
        ({"category": "marketing"}, "category", "Only WhatsApp messages have a category"),
        ({"direction": "sideways"}, "direction", "Must be one of: outbound, inbound."),
        ({"status": "queued"}, "status", "Must be one of: delivered, failed."),
        ({"country": "USA"}, "country", "ISO 3166-1 alpha-2"),
        ({"segments": -1}, "segments", "Must be between 1 and 10."),
        ({"segments": 0}, "segments", "Must be between 1 and 10."),
        ({"segments": 1.5}, "segments", "Must be a whole number."),
        ({"segments": "2"}, "segments", "Must be a whole number."),
        ({"segments": 11}, "segments", "Must be between 1 and 10."),
        ({"segments": None, "body": "a" * 1531}, "body", "Is 11 segments long (gsm7); at most 10 are accepted."),
        ({"segments": None, "body": "你" * 671}, "body", "Is 11 segments long (ucs2)"),
        ({"segments": None}, "segments", "An SMS needs `segments` or its `body`."),
        ({"occurred_at": "yesterday"}, "occurred_at", "Must be an ISO 8601 date-time"),
        ({"occurred_at": "2026-11-20T09:30:00"}, "occurred_at", "Must include a UTC offset"),
        ({"occurred_at": 1763631000}, "occurred_at", "Must be an ISO 8601 date-time string"),
        ({"occurred_at": "2023-06-01T00:00:00Z"}, "occurred_at", "No price list in force"),
        ({"id": ""}, "id", "Must be the platform's message id"),
        ({"id": "x" * 129}, "id", "Must be at most 128 characters."),
    ],
)
def test_a_bad_event_rejects_the_batch_naming_the_event_and_field(client, key, sms_channel, fields, field, message):
    response = post(client, key, {"events": [event(id="good"), event(id="bad") | fields]})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert message in error["message"]
    assert_nothing_written()


def test_an_event_in_the_future_beyond_five_minutes_is_refused(client, key, sms_channel):
    soon = (timezone.now() + timedelta(minutes=2)).isoformat()
    late = (timezone.now() + timedelta(minutes=10)).isoformat()
    response = post(client, key, {"events": [event(id="a", occurred_at=soon), event(id="b", occurred_at=late)]})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "occurred_at", "message": "Is more than 5 minutes in the future."}
    ]
    assert_nothing_written()


def test_every_bad_event_is_listed_at_once(client, key, sms_channel):
    response = post(client, key, {"events": [event(type="fax"), event(id="", country="x")]})

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "type"), (1, "id")]
    assert_nothing_written()


def test_segments_win_over_the_body(client, key, sms_channel):
    response = post(client, key, {"events": [event(segments=3, body="a" * 5000)]})

    assert response.status_code == 200
    assert UsageRecord.objects.get().segments == 3


def test_a_batch_over_1000_events_is_refused(client, key, sms_channel):
    response = post(client, key, {"events": [event(id=f"m{i}") for i in range(1001)]})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": None, "field": "events", "message": "At most 1000 events per batch; got 1001."}
    ]
    assert_nothing_written()


@pytest.mark.parametrize("payload", [{}, {"events": []}, {"events": {"id": "m1"}}, [1, 2]])
def test_a_missing_or_empty_event_list_is_refused(client, key, sms_channel, payload):
    response = post(client, key, payload)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in ("events", "body")
    assert_nothing_written()


def test_an_event_that_is_not_an_object_is_refused(client, key, sms_channel):
    response = post(client, key, {"events": [event(), "m2"]})

    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "field": "event", "message": "Must be a JSON object."}]


def test_malformed_json_is_a_400_naming_the_body(client, key, sms_channel):
    response = post(client, key, '{"events": [')

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert "JSON parse error" in error["message"]
    assert_nothing_written()


def test_a_missing_key_is_401(client, sms_channel):
    response = post(client, None, {"events": [event()]})

    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "Authorization"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_nothing_written()


def test_an_unknown_key_is_401(client, sms_channel):
    response = post(client, "bpk_not-a-real-key", {"events": [event()]})

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "Invalid API key."
    assert_nothing_written()


def test_a_revoked_key_is_401(client, sms_channel, workspace):
    secret = api_key_for(workspace, name="old")
    api_key_revoke(api_key=workspace.api_keys.get(name="old"))

    response = post(client, secret, {"events": [event()]})

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "This API key has been revoked."
    assert_nothing_written()


def test_a_key_of_another_workspace_cannot_report_usage_on_this_workspaces_channels(
    client, sms_channel, other_workspace
):
    response = post(client, api_key_for(other_workspace), {"events": [event(), event(id="m2", channel=sms_channel.id)]})

    assert response.status_code == 400
    assert [e["message"] for e in response.json()["errors"]] == ["No such channel in this workspace."] * 2
    assert_nothing_written()


def test_calls_over_the_rate_are_throttled_per_key(client, key, sms_channel, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"usage": "2/day"}}
    cache.clear()
    statuses = [post(client, key, {"events": [event(id=f"t{i}")]}).status_code for i in range(3)]

    assert statuses == [200, 200, 429]
    assert UsageRecord.objects.count() == 2
