"""Structured logs: one JSON object per line with the request id and the workspace id,
and never a card number or an API key."""

import json
import logging

import pytest

from ops.observability import JsonLogFormatter, LogContextFilter, redact
from tests.factories import api_key_for, priced_sms_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """Records of the request logger, formatted exactly as the console handler does."""
    records: list[str] = []
    handler = logging.Handler()
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonLogFormatter())
    handler.emit = lambda record: records.append(handler.format(record))
    logger = logging.getLogger("billing_portal.request")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_each_request_logs_one_json_line_with_its_request_id(client, json_lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c2e")
    assert response["X-Request-ID"] == "lb-7f3a9c2e"
    line = json.loads(json_lines[-1])
    assert line["request_id"] == "lb-7f3a9c2e"
    assert line["route"] == "healthz"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["level"] == "INFO"
    assert line["workspace_id"] is None


def test_an_unusable_incoming_request_id_is_replaced(client, json_lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert len(response["X-Request-ID"]) == 32
    assert json.loads(json_lines[-1])["request_id"] == response["X-Request-ID"]


def test_a_portal_page_logs_its_workspace_id(owner_client, workspace, json_lines):
    response = owner_client.get(f"/w/{workspace.slug}/settings/billing/wallet/")
    assert response.status_code == 200
    line = json.loads(json_lines[-1])
    assert line["workspace_id"] == workspace.id
    assert line["route"] == "w/<slug:workspace_slug>/settings/billing/wallet/"


def test_an_api_call_logs_the_key_s_workspace_but_never_the_key(client, workspace, json_lines):
    priced_sms_channel(workspace)
    key = api_key_for(workspace)
    response = client.post(
        "/api/v1/authorize",
        {"channel": "+14155550100", "direction": "outbound", "type": "sms"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    line = json.loads(json_lines[-1])
    assert line["workspace_id"] == workspace.id
    assert line["route"] == "api/v1/authorize"
    assert key not in "".join(json_lines)


def test_secrets_in_messages_are_masked(json_lines):
    logger = logging.getLogger("billing_portal.request")
    logger.warning("charging 4242 4242 4242 4242 with key %s, header Bearer abc.def", "bpk_Zx81-secret")
    message = json.loads(json_lines[-1])["message"]
    assert message == "charging [card] with key bpk_[redacted], header Bearer [redacted]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4000002500003155", "[card]"),
        ("sk_test_51abc and whsec_xyz", "sk_[redacted] and whsec_[redacted]"),
        ("topup 42 for wallet 7 at 2026-11-23", "topup 42 for wallet 7 at 2026-11-23"),
    ],
)
def test_redact_masks_cards_and_keys_but_keeps_ordinary_numbers(text, expected):
    assert redact(text) == expected


def test_static_files_served_by_whitenoise_log_the_static_route(client, json_lines):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert json.loads(json_lines[-1])["route"] == "static"
