"""Tenant isolation, walked over EVERY URL pattern the resolver knows (tests/security/urls_walk.py):
a user of another workspace gets 404 and a staff member without the billing permission gets
403 on every workspace page, for GET and POST, with no data of the workspace in the answer
and nothing written. A route this module does not know fails the test until it is classified,
so a new page cannot ship unwalked."""

from decimal import Decimal

import pytest
from django.test import Client

from alerts.models import AlertRule, ExtraRecipient, NotificationPreference, WebhookDelivery, WebhookEndpoint
from payments.models import StripeCustomer, TopUp
from tests.factories import ChannelFactory, PhoneNumberFactory, UsageRecordFactory, api_key_for, fund, wallet_of
from tests.security.urls_walk import Route, project_routes
from usage.models import ApiKey, PhoneNumber, UsageRecord
from wallets.models import AutoTopUpRule, Wallet, WalletTransaction

pytestmark = pytest.mark.django_db

# Workspace pages a member without the billing permission may open; every other workspace
# page is a billing page (403 for them). New pages default to billing: the safe side.
NON_BILLING_PAGES = {"workspace_home", "conversations", "channels", "sms_channel"}
# Routes without a workspace in the URL, each with the reason it cannot leak a workspace.
UNSCOPED = {
    "home": "redirects to the user's own workspace",
    "favicon": "a redirect to a static icon, no data",
    "login": "public",
    "logout": "ends the caller's own session",
    "payments:stripe_webhook": "signature-verified (tests/test_stripe_webhook.py)",
    "api_usage": "API key scoped, walked below",
    "api_authorize": "API key scoped, walked below",
    "api_estimate": "API key scoped, walked below",
    "api_wallets": "API key scoped, walked below",
    "api_events": "API key scoped (tests/test_api_events.py), walked below",
    "api_webhook_endpoints": "API key scoped (tests/test_api_webhook_endpoints.py), walked below",
    "api_webhook_endpoint": "API key scoped, another workspace's id is 404 (tests/test_api_webhook_endpoints.py)",
    "api_schema": "public schema, no data",
    "api_docs": "public docs, no data",
    "api_redoc": "public docs, no data",
    "ops:healthz": "process liveness, no data",
    "ops:readyz": "dependency checks by name only, no addresses or data",
    "ops:metrics": "aggregate counters without workspace labels; bearer token required in production",
}
SECRET_BALANCE = "1234.56"
SECRET_MARKERS = (
    "1,234.56",
    "1234.56",
    "victim-secret-msg",
    "+14155550199",
    "Victim channel",
    "victim.example",
    "victim-finance@example.com",
)


@pytest.fixture
def victim(workspace):
    """`workspace` with data worth stealing: balances, a top-up, a card, a number, usage, a rule."""
    for kind in (Wallet.Kind.SMS, Wallet.Kind.WHATSAPP):
        fund(wallet_of(workspace, kind), SECRET_BALANCE, key=f"victim-{kind}")
    StripeCustomer.objects.create(
        workspace=workspace, stripe_id="cus_victim", payment_method_id="pm_victim", card_brand="visa", card_last4="4242"
    )
    AutoTopUpRule.objects.create(
        wallet=wallet_of(workspace, "sms"), enabled=True, threshold=Decimal("10"), amount=Decimal("50")
    )
    channel = ChannelFactory(workspace=workspace, kind="sms", display_name="Victim channel")
    PhoneNumberFactory(channel=channel, number="+14155550199")
    UsageRecordFactory(channel=channel, message_id="victim-secret-msg")
    topup = TopUp.objects.create(wallet=wallet_of(workspace, "sms"), kind="manual", amount=Decimal("50"))
    endpoint = WebhookEndpoint.objects.create(workspace=workspace, url="https://victim.example/", secret="whsec_v")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="webhook.test",
        event_ref="t",
        body="{}",
        status="succeeded",
        created_at=topup.created_at,
    )
    alerts = {
        "rule_id": AlertRule.objects.filter(wallet=wallet_of(workspace, "sms")).get().id,
        "recipient_id": ExtraRecipient.objects.create(workspace=workspace, email="victim-finance@example.com").id,
        "endpoint_id": endpoint.id,
        "delivery_id": delivery.id,
    }
    return {"workspace": workspace, "topup": topup, "channel": channel, "alerts": alerts}


def _state() -> tuple:
    """Everything a request could change, compared before and after the walk."""
    return (
        WalletTransaction.objects.count(),
        tuple(Wallet.objects.order_by("pk").values_list("balance", flat=True)),
        tuple(TopUp.objects.order_by("pk").values_list("status", "amount")),
        tuple(AutoTopUpRule.objects.order_by("pk").values_list("enabled", "threshold", "amount")),
        tuple(StripeCustomer.objects.order_by("pk").values_list("payment_method_id", flat=True)),
        PhoneNumber.objects.count(),
        UsageRecord.objects.count(),
        ApiKey.objects.filter(revoked_at__isnull=True).count(),
        tuple(AlertRule.objects.order_by("pk").values_list("threshold", flat=True)),
        tuple(WebhookEndpoint.objects.order_by("pk").values_list("url", "enabled")),
        WebhookDelivery.objects.count(),
        ExtraRecipient.objects.count(),
        NotificationPreference.objects.count(),
    )


def _values(route: Route, *, slug: str, victim: dict) -> dict:
    samples = {
        "workspace_slug": slug, "kind": "sms", "topup_id": victim["topup"].id, "month": "2026-11", "fmt": "pdf",
        **victim["alerts"],
    }  # fmt: skip
    unknown = set(route.params) - samples.keys()
    assert not unknown, f"{route.name}: give a sample value for {unknown} (an object of the victim workspace)"
    return {p: samples[p] for p in route.params}


def _is_admin(route: Route) -> bool:
    """Pages under /admin/ (Django's admin and the finance pages) ask for a staff login."""
    return route.template.startswith("admin/")


def _workspace_routes() -> list[Route]:
    routes = list(project_routes())
    unclassified = [
        r.name for r in routes if "workspace_slug" not in r.params and r.name not in UNSCOPED and not _is_admin(r)
    ]
    assert not unclassified, f"classify these routes in {__name__}: {unclassified}"
    return [r for r in routes if "workspace_slug" in r.params]


def _assert_refused(client: Client, url: str, expected: int, route: Route, data: dict | None = None) -> None:
    """GET and POST: the method the view takes is refused with `expected`; the other one is
    405 (decided before the workspace is looked at, so it reveals nothing either)."""
    codes = []
    for method in ("get", "post"):
        response = getattr(client, method)(url, data or {})
        codes.append(response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for marker in SECRET_MARKERS:
            assert marker.encode() not in body, f"{method.upper()} {route.name} shows {marker}"
    assert set(codes) <= {expected, 405} and expected in codes, f"{route.name}: GET/POST answered {codes}"


def test_a_user_of_another_workspace_gets_404_on_every_workspace_url(client, outsider, victim):
    client.force_login(outsider)
    before = _state()
    routes = _workspace_routes()

    for route in routes:
        url = route.url(**_values(route, slug=victim["workspace"].slug, victim=victim))
        _assert_refused(client, url, 404, route, {"amount": "100", "enabled": "on"})

    assert _state() == before
    assert len(routes) >= 17


def test_a_user_naming_another_workspaces_object_under_their_own_workspace_gets_404(
    client, outsider, other_workspace, victim
):
    """IDOR: the outsider's own slug with the victim's top-up id."""
    client.force_login(outsider)
    before = _state()
    # A statement's month and format name no object: they pick from the caller's own wallet.
    object_routes = [r for r in _workspace_routes() if set(r.params) - {"workspace_slug", "kind", "month", "fmt"}]

    for route in object_routes:
        url = route.url(**_values(route, slug=other_workspace.slug, victim=victim))
        _assert_refused(client, url, 404, route)

    assert _state() == before
    assert object_routes


def test_staff_without_billing_permission_gets_403_on_every_billing_url_and_no_amounts(client, teammate, victim):
    client.force_login(teammate)
    before = _state()

    for route in _workspace_routes():
        url = route.url(**_values(route, slug=victim["workspace"].slug, victim=victim))
        if route.name in NON_BILLING_PAGES:
            response = client.get(url)
            assert response.status_code == 200, route.name
            assert SECRET_BALANCE.encode() not in response.content and b"1,234.56" not in response.content, route.name
            continue
        _assert_refused(client, url, 403, route, {"amount": "100"})

    assert _state() == before


def test_anonymous_visitors_are_sent_to_login_from_every_workspace_url(victim):
    client = Client()
    for route in _workspace_routes():
        url = route.url(**_values(route, slug=victim["workspace"].slug, victim=victim))
        response = client.post(url) if route.name.startswith("payments:") else client.get(url)
        assert response.status_code in (302, 405), route.name
        if response.status_code == 302:
            assert response.url.startswith("/login/"), route.name


def test_the_admin_and_finance_pages_refuse_workspace_users_who_are_not_staff(client, owner, victim):
    client.force_login(owner)
    before = _state()
    wallet_id = wallet_of(victim["workspace"], "sms").id
    finance = [r.url(wallet_id=wallet_id, topup_id=victim["topup"].id) for r in project_routes() if _is_admin(r)]
    admin = ["/admin/", "/admin/wallets/wallettransaction/", f"/admin/payments/topup/{victim['topup'].id}/change/"]

    for url in admin + finance:
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"amount": "-1234.56", "reason": "x"})
            assert response.status_code == 302 and response.url.startswith("/admin/login/"), (method, url)

    assert _state() == before
    assert len(finance) >= 3


def _api(client: Client, key: str, method: str, path: str, payload: dict | None = None):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if method == "get":
        return client.get(path, **auth)
    return client.post(path, payload, content_type="application/json", **auth)


def test_an_api_key_of_another_workspace_reaches_none_of_its_channels_or_wallets(client, other_workspace, victim):
    key = api_key_for(other_workspace)
    before = _state()
    channel = victim["channel"]
    event = {
        "id": "outsider-1",
        "channel": channel.id,
        "type": "sms",
        "direction": "outbound",
        "status": "delivered",
        "country": "US",
        "segments": 1,
        "occurred_at": "2026-11-01T12:00:00Z",
    }

    for ref in (channel.id, "+14155550199"):
        usage = _api(client, key, "post", "/api/v1/usage", {"events": [{**event, "channel": ref}]})
        assert usage.status_code in (400, 404, 422), usage.content
        for path in ("/api/v1/authorize", "/api/v1/estimate"):
            response = _api(client, key, "post", path, {"channel": ref, "direction": "outbound", "type": "sms"})
            assert response.status_code in (400, 404), (path, response.content)
            assert b"1234.56" not in response.content
    wallets = _api(client, key, "get", "/api/v1/wallets")

    assert wallets.status_code == 200
    assert b"1234.56" not in wallets.content
    assert {w["balance"] for w in wallets.json()} == {"0.000000"}
    assert _state() == before
