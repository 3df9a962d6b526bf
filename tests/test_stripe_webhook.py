"""The webhook: verified before anything is written, stored by event id, processed once,
harmless when repeated or out of order, and retryable after a processing error."""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from payments.models import StripeEvent, TopUp
from payments.standin.server import signature_header
from tests.factories import wallet_of
from tests.stripe_helpers import WEBHOOK_URL, events_of, post_event, session_id_of, start_topup
from wallets.models import WalletTransaction


def _paid_session_event(client, workspace, standin, amount: str = "50") -> dict:
    url = start_topup(client, workspace, "whatsapp", amount).url
    assert standin.pay(session_id_of(url), "4242424242424242") is None
    (event,) = events_of(standin, "checkout.session.completed")
    return event


def _nothing_written() -> None:
    assert StripeEvent.objects.count() == 0
    assert WalletTransaction.objects.count() == 0
    assert TopUp.objects.exclude(status="pending").count() == 0


@pytest.mark.django_db
def test_a_completed_checkout_credits_the_amount_stripe_charged_once_even_when_repeated(
    owner_client, workspace, stripe_standin
):
    event = _paid_session_event(owner_client, workspace, stripe_standin)

    first = post_event(owner_client, stripe_standin, event)
    again = post_event(owner_client, stripe_standin, event)

    assert (first.status_code, again.status_code) == (200, 200)
    topup = TopUp.objects.get()
    assert first.json() == {"received": True, "outcome": f"credited top-up {topup.id}"}
    assert topup.status == "succeeded"
    assert wallet_of(workspace, "whatsapp").balance == Decimal("50.000000")
    assert WalletTransaction.objects.get().amount == Decimal("50.000000")
    stored = StripeEvent.objects.get()
    assert (stored.stripe_id, stored.type, stored.attempts, stored.error) == (
        event["id"],
        "checkout.session.completed",
        1,
        "",
    )
    assert stored.processed_at is not None


@pytest.mark.django_db
def test_a_webhook_of_the_same_session_with_a_new_event_id_credits_nothing_more(
    owner_client, workspace, stripe_standin
):
    event = _paid_session_event(owner_client, workspace, stripe_standin)
    post_event(owner_client, stripe_standin, event)
    post_event(
        owner_client, stripe_standin, dict(event, id="evt_async", type="checkout.session.async_payment_succeeded")
    )

    assert StripeEvent.objects.count() == 2
    assert WalletTransaction.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_event_after_completion_changes_nothing(owner_client, workspace, stripe_standin):
    event = _paid_session_event(owner_client, workspace, stripe_standin)
    post_event(owner_client, stripe_standin, event)
    expired = json.loads(json.dumps(event))
    expired.update(id="evt_late_expired", type="checkout.session.expired")
    expired["data"]["object"].update(status="expired", payment_status="unpaid")

    assert post_event(owner_client, stripe_standin, expired).status_code == 200
    assert TopUp.objects.get().status == "succeeded"
    assert WalletTransaction.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_session_expires_its_pending_top_up(owner_client, workspace, stripe_standin):
    from payments.stripe_api import stripe_client

    start_topup(owner_client, workspace, "whatsapp", "50")
    stripe_client().v1.checkout.sessions.expire(TopUp.objects.get().checkout_session_id)
    (event,) = events_of(stripe_standin, "checkout.session.expired")

    assert post_event(owner_client, stripe_standin, event).status_code == 200
    topup = TopUp.objects.get()
    assert (topup.status, topup.failure_code) == ("expired", "expired")
    assert topup.failure_reason == "Checkout session expired"
    assert WalletTransaction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    ["forged", "tampered", "stale", "unsigned", "garbage header"],
)
def test_a_bad_signature_is_refused_with_400_and_nothing_is_written(owner_client, workspace, stripe_standin, how):
    event = _paid_session_event(owner_client, workspace, stripe_standin)
    payload = json.dumps(event).encode()
    headers = {
        "forged": signature_header(payload, "whsec_attacker"),
        "tampered": None,
        "stale": signature_header(payload, stripe_standin.webhook_secret, int(time.time()) - 600),
        "unsigned": None,
        "garbage header": "t=abc,v1=xyz",
    }
    header = headers[how]
    if how == "tampered":
        header = signature_header(payload, stripe_standin.webhook_secret)
        event["data"]["object"]["amount_total"] = 500000
        payload = json.dumps(event).encode()
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}

    response = owner_client.post(WEBHOOK_URL, data=payload, content_type="application/json", **extra)

    assert response.status_code == 400
    _nothing_written()


@pytest.mark.django_db
def test_the_webhook_needs_no_csrf_token_but_only_accepts_post(owner_client, workspace, stripe_standin):
    event = _paid_session_event(owner_client, workspace, stripe_standin)
    stripe_like = Client(enforce_csrf_checks=True)

    assert stripe_like.get(WEBHOOK_URL).status_code == 405
    assert post_event(stripe_like, stripe_standin, event).status_code == 200
    assert WalletTransaction.objects.count() == 1


@pytest.mark.django_db
def test_a_session_of_another_workspaces_customer_is_refused_and_recorded(
    owner_client, workspace, other_workspace, stripe_standin
):
    from payments.services import stripe_customer_ensure

    event = _paid_session_event(owner_client, workspace, stripe_standin)
    event["data"]["object"]["customer"] = stripe_customer_ensure(workspace=other_workspace).stripe_id

    response = post_event(owner_client, stripe_standin, event)

    assert response.status_code == 200
    assert response.json()["outcome"].startswith("refused: cus_")
    assert WalletTransaction.objects.count() == 0
    assert TopUp.objects.get().status == "pending"
    stored = StripeEvent.objects.get()
    assert "is not the Stripe customer of workspace acme" in stored.error


@pytest.mark.django_db
def test_a_completed_event_for_an_unknown_session_is_refused_and_credits_nothing(owner_client, stripe_standin):
    event = {
        "id": "evt_unknown",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_unknown",
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "status": "complete",
                "amount_total": 5000,
                "currency": "usd",
                "customer": "cus_nobody",
                "metadata": {"topup_id": "999"},
            }
        },
    }

    response = post_event(owner_client, stripe_standin, event)

    assert response.status_code == 200
    assert response.json()["outcome"] == "refused: no top-up matches cs_test_unknown"
    assert WalletTransaction.objects.count() == 0
    assert StripeEvent.objects.get().error == "no top-up matches cs_test_unknown"


@pytest.mark.django_db
def test_unhandled_event_types_are_stored_and_ignored(owner_client, stripe_standin):
    event = {"id": "evt_other", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}

    response = post_event(owner_client, stripe_standin, event)

    assert response.json() == {"received": True, "outcome": "ignored"}
    assert StripeEvent.objects.get().outcome == "ignored"


@pytest.mark.django_db
def test_a_processing_error_is_recorded_answers_500_and_the_retry_credits(
    owner_client, workspace, stripe_standin, monkeypatch
):
    from payments import services

    event = _paid_session_event(owner_client, workspace, stripe_standin)
    real = services.ledger_post

    def broken(**kwargs):
        raise ConnectionError("database hiccup")

    monkeypatch.setattr(services, "ledger_post", broken)
    failed = post_event(owner_client, stripe_standin, event)
    stored = StripeEvent.objects.get()
    assert failed.status_code == 500
    assert (stored.processed_at, stored.attempts, stored.error) == (None, 1, "ConnectionError: database hiccup")
    assert WalletTransaction.objects.count() == 0

    monkeypatch.setattr(services, "ledger_post", real)
    retried = post_event(owner_client, stripe_standin, event)
    stored.refresh_from_db()
    assert retried.status_code == 200
    assert (stored.attempts, stored.error) == (2, "")
    assert wallet_of(workspace, "whatsapp").balance == Decimal("50.000000")


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_deliveries_of_one_event_credit_once(owner, workspace, stripe_standin):
    client = Client()
    client.force_login(owner)
    event = _paid_session_event(client, workspace, stripe_standin)
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            barrier.wait()
            statuses.append(post_event(Client(), stripe_standin, event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 5
    assert StripeEvent.objects.count() == 1
    assert WalletTransaction.objects.filter(kind="top_up").count() == 1
    assert wallet_of(workspace, "whatsapp").balance == Decimal("50.000000")
