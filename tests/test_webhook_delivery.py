"""Signed webhook deliveries: verified by a receiver's own HMAC code, retried with back-off,
kept to their workspace, given up and disabled in time, resent and tested on demand."""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from alerts import webhooks
from alerts.models import Event, WebhookDelivery
from alerts.tasks import webhook_deliveries_due
from tests.factories import WorkspaceFactory, fund, wallet_of
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def own_verify(secret: str, headers: dict, body: bytes, *, now: float, tolerance: int = 300) -> bool:
    """What a platform engineer writes from the README, without our code."""
    fields = dict(part.split("=", 1) for part in headers["billing-signature"].split(","))
    if abs(now - int(fields["t"])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def cross_low(workspace, capture) -> None:
    """Take the WhatsApp wallet from US$25 to US$15, across its US$20 line."""
    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "25", key="opening")
    with capture(execute=True):
        ledger_post(wallet_id=wallet.id, kind="message_charge", amount=Decimal("-10"), idempotency_key="m1")


def test_a_receiver_verifies_the_signature_with_its_own_hmac_and_refuses_a_tampered_body(
    workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    endpoint = webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    webhook_receiver.check = lambda headers, body: (
        200 if own_verify(endpoint.secret, headers, body, now=datetime.now(UTC).timestamp()) else 400
    )

    cross_low(workspace, django_capture_on_commit_callbacks)

    [(headers, body)] = webhook_receiver.requests
    event = Event.objects.get(workspace=workspace, type="wallet.low")
    assert headers["billing-event-id"] == str(event.id)
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "id": event.id,
        "type": "wallet.low",
        "created": event.created_at.isoformat().replace("+00:00", "Z"),
        "workspace": "acme",
        "data": {
            "wallet": "whatsapp",
            "balance": "15.000000",
            "threshold": "20.000000",
            "rule_id": event.data["rule_id"],
            "ledger_transaction_id": event.data["ledger_transaction_id"],
        },
    }
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)

    tampered = body.replace(b'"balance":"15.000000"', b'"balance":"150.000000"')
    assert tampered != body
    request = urllib.request.Request(webhook_receiver.url, data=tampered, headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400


def test_a_receiver_answering_500_twice_then_200_gets_one_successful_delivery_after_back_off(
    workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.answers = [500, 500, 200]
    webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url, event_types=["wallet.low"])
    with time_machine.travel(T0, tick=False) as clock:
        cross_low(workspace, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
        assert delivery.next_attempt_at == T0 + timedelta(seconds=60)

        clock.shift(59)
        assert webhook_deliveries_due.delay().get() == 0  # not due yet: nothing sent
        clock.shift(1)
        webhook_deliveries_due.delay()
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.response_code) == (2, 500)
        assert delivery.next_attempt_at == T0 + timedelta(seconds=60 + 120)

        clock.shift(120)
        webhook_deliveries_due.delay()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 3, 200)
    assert len(webhook_receiver.requests) == 3
    assert len({headers["billing-event-id"] for headers, _ in webhook_receiver.requests}) == 1
    assert len({body for _, body in webhook_receiver.requests}) == 1  # the same bytes every time
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 1


def test_an_endpoint_of_workspace_a_never_receives_workspace_b_events(
    workspace, other_workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    cross_low(other_workspace, django_capture_on_commit_callbacks)
    assert Event.objects.filter(workspace=other_workspace).exists()
    assert webhook_receiver.requests == []

    cross_low(workspace, django_capture_on_commit_callbacks)
    assert [json.loads(body)["workspace"] for _, body in webhook_receiver.requests] == ["acme"]


def test_a_delivery_still_failing_after_the_maximum_age_is_given_up(
    workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.answers = [503] * 100
    webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        cross_low(workspace, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        waits = []
        while delivery.status == "pending":
            waits.append(delivery.next_attempt_at - datetime.now(UTC))
            clock.move_to(delivery.next_attempt_at)
            webhook_deliveries_due.delay()
            delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert delivery.completed_at - delivery.created_at >= timedelta(hours=24)
    # Doubling from a minute (1, 2, 4 ... 64 minutes), then every two hours, until 26 hours have passed.
    minutes = [wait.total_seconds() / 60 for wait in waits]
    assert minutes[:8] == [1, 2, 4, 8, 16, 32, 64, 120]
    assert set(minutes[8:]) == {120}
    assert delivery.attempts == len(waits) + 1 == len(webhook_receiver.requests)


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_admins_are_told(
    workspace, owner, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.answers = [500] * 10
    endpoint = webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    endpoint.failing_since = datetime.now(UTC) - timedelta(days=3, minutes=1)
    endpoint.save()

    cross_low(workspace, django_capture_on_commit_callbacks)

    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert endpoint.disabled_reason == "Every delivery failed for 3 days."
    assert WebhookDelivery.objects.get().status == "failed"
    assert f"[Acme] Webhook endpoint disabled: {webhook_receiver.url}" in [m.subject for m in mail.outbox]


def test_a_success_ends_the_run_of_failures(workspace, webhook_receiver, django_capture_on_commit_callbacks):
    endpoint = webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    endpoint.failing_since = datetime.now(UTC) - timedelta(days=2)
    endpoint.save()
    cross_low(workspace, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.failing_since) == (True, None)


def test_a_delivery_claimed_by_a_worker_that_died_is_sent_by_the_beat_sweep_after_the_lease(
    workspace, webhook_receiver
):
    webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        # The event is recorded but its queued task is lost (no on-commit run here), and a
        # worker claims the delivery then dies before sending anything.
        fund(wallet_of(workspace, "whatsapp"), "25", key="opening")
        ledger_post(
            wallet_id=wallet_of(workspace, "whatsapp").id,
            kind="message_charge",
            amount=Decimal("-10"),
            idempotency_key="m1",
        )
        from alerts.services import posting_events_record
        from wallets.models import WalletTransaction

        posting_events_record(
            wallet_id=wallet_of(workspace, "whatsapp").id,
            postings=list(WalletTransaction.objects.filter(idempotency_key="m1")),
        )
        delivery = WebhookDelivery.objects.get()
        assert webhooks._claim(delivery.id) is not None

        assert webhook_deliveries_due.delay().get() == 0  # leased: no second sender meanwhile
        clock.shift(60)
        assert webhook_deliveries_due.delay().get() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(webhook_receiver.requests) == 1


def test_resend_delivers_the_same_event_again_and_the_test_event_reaches_the_receiver(
    workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    endpoint = webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    cross_low(workspace, django_capture_on_commit_callbacks)
    first = WebhookDelivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        again = webhooks.delivery_resend(delivery=first)
        test = webhooks.test_event_send(endpoint=endpoint)

    again.refresh_from_db()
    test.refresh_from_db()
    assert (again.status, again.resend_of_id, again.event_id) == ("succeeded", first.id, first.event_id)
    assert test.status == "succeeded"
    sent = [(headers["billing-event-id"], json.loads(body)["type"]) for headers, body in webhook_receiver.requests]
    assert sent == [(first.event_ref, "wallet.low"), (first.event_ref, "wallet.low"), (test.event_ref, "webhook.test")]


def test_a_disabled_endpoint_gets_nothing_new(workspace, webhook_receiver, django_capture_on_commit_callbacks):
    endpoint = webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    webhooks.webhook_endpoint_enable(endpoint=endpoint, enabled=False)
    cross_low(workspace, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 0
    assert webhook_receiver.requests == []


def test_an_endpoint_of_another_type_is_not_sent_the_event(
    workspace, webhook_receiver, django_capture_on_commit_callbacks
):
    webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url, event_types=["number.released"])
    cross_low(workspace, django_capture_on_commit_callbacks)
    assert webhook_receiver.requests == []


def test_workspaces_share_nothing_even_with_one_url(workspace, webhook_receiver, django_capture_on_commit_callbacks):
    other = WorkspaceFactory(slug="initech", name="Initech")
    a = webhooks.webhook_endpoint_create(workspace=workspace, url=webhook_receiver.url)
    b = webhooks.webhook_endpoint_create(workspace=other, url=webhook_receiver.url)
    cross_low(other, django_capture_on_commit_callbacks)
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [b.id]
    assert a.secret != b.secret


def test_the_readmes_example_delivery_is_signed_as_the_readme_says():
    """The README's example headers and body, with its secret, pass its own recipe (own_verify)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    header = next(line for line in readme.splitlines() if line.startswith("Billing-Signature: "))
    body = next(line for line in readme.splitlines() if line.startswith('{"id":42,'))
    fields = dict(part.split("=", 1) for part in header.removeprefix("Billing-Signature: ").split(","))
    headers = {"billing-signature": header.removeprefix("Billing-Signature: ")}
    assert own_verify("whsec_readme", headers, body.encode(), now=int(fields["t"]))
    assert not own_verify("whsec_other", headers, body.encode(), now=int(fields["t"]))
