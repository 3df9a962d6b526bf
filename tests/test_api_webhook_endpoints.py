"""GET/POST /api/v1/webhook_endpoints and DELETE /api/v1/webhook_endpoints/<id> with a workspace key."""

import pytest

from alerts.models import WebhookEndpoint
from tests.factories import api_key_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhook_endpoints"


def auth(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_registered_endpoint_answers_its_secret_once(client, workspace, key):
    response = client.post(
        URL,
        {"url": "http://127.0.0.1:8430/", "event_types": ["wallet.low", "wallet.suspended"]},
        content_type="application/json",
        **auth(key),
    )
    assert response.status_code == 201
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["id"] == endpoint.id
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["event_types"], body["enabled"]) == (
        "http://127.0.0.1:8430/",
        ["wallet.low", "wallet.suspended"],
        True,
    )
    assert endpoint.workspace == workspace

    listed = client.get(URL, **auth(key))
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == [endpoint.id]
    assert "secret" not in listed.json()[0]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"url": "http://127.0.0.1/", "event_types": ["wallet.empty"]}, "event_types", "not a valid choice"),
        ({"url": "http://10.0.0.1/"}, "url", "private"),
        ({}, "url", "required"),
    ],
)
def test_a_bad_endpoint_is_a_400_naming_the_field_and_nothing_is_stored(
    client, workspace, key, payload, field, message
):
    response = client.post(URL, payload, content_type="application/json", **auth(key))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    assert WebhookEndpoint.objects.count() == 0


def test_private_urls_are_refused_by_the_api_in_production(client, workspace, key, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = client.post(URL, {"url": "http://127.0.0.1:8430/"}, content_type="application/json", **auth(key))
    assert response.status_code == 400
    assert "https://" in response.json()["errors"][0]["message"]


def test_delete_removes_only_the_callers_endpoint(client, workspace, other_workspace, key):
    theirs = WebhookEndpoint.objects.create(workspace=other_workspace, url="https://x.example/", secret="whsec_x")
    mine = WebhookEndpoint.objects.create(workspace=workspace, url="https://y.example/", secret="whsec_y")

    assert client.delete(f"{URL}/{theirs.id}", **auth(key)).status_code == 404
    assert client.delete(f"{URL}/{mine.id}", **auth(key)).status_code == 204
    assert list(WebhookEndpoint.objects.values_list("id", flat=True)) == [theirs.id]
    assert client.get(URL, **auth(api_key_for(other_workspace))).json()[0]["id"] == theirs.id


def test_the_schema_documents_the_events_api_and_every_webhook(client):
    import yaml
    from drf_spectacular.validation import validate_schema

    schema = yaml.safe_load(client.get("/api/schema/").content)
    validate_schema(schema)
    assert {"/api/v1/events", "/api/v1/webhook_endpoints", "/api/v1/webhook_endpoints/{endpoint_id}"} <= set(
        schema["paths"]
    )
    assert set(schema["x-webhooks"]) >= {"wallet.low", "wallet.suspended", "number.released", "top_up.succeeded"}
    body = schema["x-webhooks"]["wallet.low"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Event"}
    assert set(schema["components"]["schemas"]["Event"]["properties"]) == {"id", "type", "created", "workspace", "data"}


@pytest.mark.parametrize("endpoint_id", ["abc", "null%2Cnull", "99999999999999999999999", "-1"])
def test_deleting_an_id_that_is_not_one_is_a_json_404(client, workspace, key, endpoint_id):
    response = client.delete(f"{URL}/{endpoint_id}", **auth(key))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["message"]
