"""Balances, ledgers and statements are never kept by a shared cache or the browser's disk
cache: every billing page, API answer and CSV carries Cache-Control: no-store. Static files
keep their long caching."""

import pytest
from django.urls import reverse

from tests.factories import api_key_for

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in [part.strip() for part in response.get("Cache-Control", "").split(",")]


@pytest.mark.parametrize(
    "name", ["billing_overview", "sms_wallet", "whatsapp_billing", "workspace_home", "number_purchase"]
)
def test_every_billing_page_is_no_store(owner_client, workspace, name):
    response = owner_client.get(reverse(name, args=[workspace.slug]))

    assert response.status_code == 200
    assert _no_store(response), response.get("Cache-Control")


@pytest.mark.parametrize("kind", ["sms", "whatsapp"])
def test_the_usage_csv_is_no_store(owner_client, workspace, kind):
    response = owner_client.get(reverse("usage_export", args=[workspace.slug, kind]))

    assert response.status_code == 200 and response.streaming
    assert response["Cache-Control"] == "no-store"


def test_api_answers_and_api_errors_are_no_store(client, workspace):
    secret = api_key_for(workspace)

    ok = client.get("/api/v1/wallets", HTTP_AUTHORIZATION=f"Bearer {secret}")
    refused = client.get("/api/v1/wallets")

    assert (ok.status_code, refused.status_code) == (200, 401)
    assert ok["Cache-Control"] == "no-store" and refused["Cache-Control"] == "no-store"


def test_the_login_page_and_the_admin_are_no_store(client, admin_client):
    assert _no_store(client.get("/login/"))
    assert _no_store(admin_client.get("/admin/"))


def test_the_authorize_fast_path_sends_no_store_like_django():
    from usage.authorize_fast import HEADERS

    assert ("Cache-Control", "no-store") in HEADERS
