"""The alert pages: thresholds on each wallet page, email choices, webhook endpoints and their log, live.json."""

from decimal import Decimal

import pytest

from alerts.models import AlertRule, NotificationPreference, WebhookDelivery, WebhookEndpoint
from tests.factories import fund, wallet_of

pytestmark = pytest.mark.django_db


def test_each_wallet_page_shows_its_default_alert_and_takes_another(owner_client, workspace):
    page = owner_client.get("/w/acme/settings/billing/wallet/")
    assert page.status_code == 200
    assert b'data-alert-threshold="10.000000"' in page.content
    whatsapp = owner_client.get("/w/acme/settings/billing/whatsapp/")
    assert b'data-alert-threshold="20.000000"' in whatsapp.content

    response = owner_client.post("/w/acme/settings/billing/sms/alerts/", {"threshold": "1,250.50"})
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/billing/wallet/#balance-alerts"
    thresholds = AlertRule.objects.filter(wallet=wallet_of(workspace, "sms")).values_list("threshold", flat=True)
    assert sorted(thresholds) == [Decimal("10"), Decimal("1250.50")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("20,00", "is not an amount"),
        ("1e3", "is not an amount"),
        ("0", "more than US$0.00"),
        ("", "is not an amount"),
        ("10", "already an alert at US$10.00"),
    ],
)
def test_a_bad_threshold_is_explained_and_nothing_is_saved(owner_client, workspace, raw, message):
    response = owner_client.post("/w/acme/settings/billing/sms/alerts/", {"threshold": raw}, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert AlertRule.objects.filter(wallet=wallet_of(workspace, "sms")).count() == 1


def test_an_alert_is_removed(owner_client, workspace):
    rule = AlertRule.objects.get(wallet=wallet_of(workspace, "sms"))
    response = owner_client.post(f"/w/acme/settings/billing/sms/alerts/{rule.id}/remove/")
    assert response.status_code == 302
    assert not AlertRule.objects.filter(pk=rule.id).exists()


def test_staff_without_billing_permission_and_outsiders_reach_no_alert_page(client, workspace, teammate, outsider):
    client.force_login(teammate)
    for page in ("notifications/", "webhooks/", "billing/sms/live.json"):
        url = f"/w/acme/settings/{page}"
        assert client.get(url).status_code == 403
    assert client.post("/w/acme/settings/billing/sms/alerts/", {"threshold": "5"}).status_code == 403
    client.force_login(outsider)
    assert client.get("/w/acme/settings/webhooks/").status_code == 404
    assert AlertRule.objects.filter(wallet__workspace=workspace).count() == 2


def test_an_admin_turns_off_the_emails_they_do_not_want(owner_client, owner, workspace):
    response = owner_client.post("/w/acme/settings/notifications/", {"email": ["wallet.suspended", "number.released"]})
    assert response.status_code == 302
    off = set(NotificationPreference.objects.filter(user=owner, email=False).values_list("event_type", flat=True))
    assert "wallet.low" in off and "wallet.suspended" not in off and len(off) == 10
    page = owner_client.get("/w/acme/settings/notifications/").content.decode()
    suspended = 'value="wallet.suspended" id="pref-3" aria-label="Email me: SMS wallet empty: SMS and MMS suspended"'
    assert f"{suspended} checked" in page


def test_an_extra_recipient_is_added_and_a_bad_address_explained(owner_client, workspace):
    owner_client.post("/w/acme/settings/notifications/recipients/", {"email": "finance@example.com"})
    page = owner_client.post("/w/acme/settings/notifications/recipients/", {"email": "nope"}, follow=True)
    assert "&#x27;nope&#x27; is not an email address." in page.content.decode()
    assert 'data-recipient="finance@example.com"' in page.content.decode()


def test_a_registered_endpoint_shows_its_secret_once(owner_client, workspace):
    response = owner_client.post(
        "/w/acme/settings/webhooks/", {"url": "http://127.0.0.1:8430/", "event_types": ["wallet.low"]}
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["wallet.low"]
    assert f"<code data-secret>{endpoint.secret}</code>" in response.content.decode()
    assert endpoint.secret not in owner_client.get("/w/acme/settings/webhooks/").content.decode()
    assert endpoint.secret not in owner_client.get(f"/w/acme/settings/webhooks/{endpoint.id}/").content.decode()


def test_an_unsafe_endpoint_is_explained_on_the_page(owner_client, workspace, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = owner_client.post("/w/acme/settings/webhooks/", {"url": "https://127.0.0.1/"})
    assert response.status_code == 200
    assert "127.0.0.1 is a loopback address" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_the_delivery_log_lists_attempts_and_resends_and_tests(
    owner_client, workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.answers = [500]
    owner_client.post("/w/acme/settings/webhooks/", {"url": webhook_receiver.url})
    endpoint = WebhookEndpoint.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/w/acme/settings/webhooks/{endpoint.id}/test/")
    first = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/w/acme/settings/webhooks/{endpoint.id}/deliveries/{first.id}/resend/")

    page = owner_client.get(f"/w/acme/settings/webhooks/{endpoint.id}/").content.decode()
    assert page.count("<code>webhook.test</code>") == 2
    assert '<span class="badge badge-pending">Pending</span>' in page
    assert '<span class="badge badge-succeeded">Succeeded</span>' in page
    assert "HTTP 500" in page
    assert [d.status for d in WebhookDelivery.objects.order_by("id")] == ["pending", "succeeded"]


def test_another_workspaces_endpoint_is_a_404(owner_client, workspace, other_workspace):
    theirs = WebhookEndpoint.objects.create(workspace=other_workspace, url="https://x.example/", secret="whsec_x")
    assert owner_client.get(f"/w/acme/settings/webhooks/{theirs.id}/").status_code == 404
    assert owner_client.post(f"/w/acme/settings/webhooks/{theirs.id}/delete/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=theirs.id).exists()


def test_live_json_gives_the_balance_state_badge_and_banners(owner_client, workspace):
    fund(wallet_of(workspace, "sms"), "-3", key="debt")
    response = owner_client.get("/w/acme/settings/billing/sms/live.json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert (body["kind"], body["balance"], body["balance_display"], body["state"]) == (
        "sms",
        "-3.000000",
        "-US$3.00",
        "suspended",
    )
    assert 'data-state="suspended"' in body["badge_html"]
    assert 'data-banner="sms-suspended"' in body["banners_html"]
    assert owner_client.get("/w/acme/settings/billing/fax/live.json").status_code == 404
