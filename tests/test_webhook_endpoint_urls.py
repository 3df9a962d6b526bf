"""The SSRF guard: in production an endpoint is https:// to a public address, checked at
registration and again at delivery (after resolving), and the request goes to the checked address."""

import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts import webhooks
from alerts.endpoint_urls import UnsafeEndpoint, endpoint_url_check
from alerts.models import WebhookDelivery, WebhookEndpoint
from tests.factories import fund, wallet_of
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    return settings


def resolving(monkeypatch, answers: dict[str, list[str]]) -> None:
    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(f"unknown host {host}")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "must start with https://"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://[::1]:8443/x", "loopback"),
        ("https://localhost/x", "loopback"),
        ("https://10.0.0.5/x", "private"),
        ("https://192.168.1.20/x", "private"),
        ("https://172.16.0.1/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://169.254.10.10/x", "link-local"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://0.0.0.0/x", "private or reserved"),
        ("https://internal.example.com/x", "private"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("ftp://hooks.example.com/x", "must start with https://"),
        ("https:///x", "no host"),
        ("https://nowhere.invalid/x", "does not resolve"),
    ],
)
def test_private_loopback_and_metadata_urls_are_refused_in_production(production, monkeypatch, workspace, url, why):
    resolving(
        monkeypatch,
        {
            "localhost": ["127.0.0.1", "::1"],
            "internal.example.com": ["93.184.216.34", "10.1.2.3"],
            "hooks.example.com": ["93.184.216.34"],
        },
    )
    with pytest.raises(webhooks.EndpointInvalid) as refused:
        webhooks.webhook_endpoint_create(workspace=workspace, url=url)
    assert why in str(refused.value)
    assert refused.value.field == "url"
    assert WebhookEndpoint.objects.count() == 0


def test_a_public_https_url_is_accepted_and_connects_to_the_checked_address(production, monkeypatch, workspace):
    resolving(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    endpoint = webhooks.webhook_endpoint_create(workspace=workspace, url="https://hooks.example.com/billing?v=1")
    target = endpoint_url_check(endpoint.url)
    assert (target.scheme, target.host, target.port, target.address, target.path) == (
        "https",
        "hooks.example.com",
        443,
        "93.184.216.34",
        "/billing?v=1",
    )
    assert endpoint.secret.startswith("whsec_")


def test_a_host_that_resolves_to_a_private_address_at_delivery_time_is_not_contacted(
    production, monkeypatch, workspace, django_capture_on_commit_callbacks
):
    resolving(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    webhooks.webhook_endpoint_create(workspace=workspace, url="https://hooks.example.com/billing")
    resolving(monkeypatch, {"hooks.example.com": ["169.254.169.254"]})  # DNS rebinding to the metadata service
    connected = []
    monkeypatch.setattr(webhooks, "_post", lambda *args, **kwargs: connected.append(args))

    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "25", key="opening")
    with django_capture_on_commit_callbacks(execute=True):
        ledger_post(wallet_id=wallet.id, kind="message_charge", amount=Decimal("-10"), idempotency_key="m1")

    delivery = WebhookDelivery.objects.get()
    assert connected == []
    assert delivery.status == "pending"  # retried later: the DNS answer may be fixed
    assert delivery.response_code is None
    assert "Refused: hooks.example.com is the cloud metadata address" in delivery.last_error
    assert delivery.last_attempt_at <= datetime.now(UTC)


def test_the_demo_setting_allows_plain_http_on_loopback_only(settings, workspace):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert endpoint_url_check("http://127.0.0.1:8430/").address == "127.0.0.1"
    for url in ("http://10.0.0.5/x", "https://169.254.169.254/", "http://192.168.0.2:8430/"):
        with pytest.raises(UnsafeEndpoint):
            endpoint_url_check(url)
