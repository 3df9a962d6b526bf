"""The local Stripe stand-in speaks enough of Stripe for the official SDK."""

import pytest
import stripe

from payments.stripe_api import stripe_client


@pytest.fixture
def customer_with_card(stripe_standin):
    client = stripe_client()
    customer = client.v1.customers.create(params={"name": "Acme"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": customer.id,
            "currency": "usd",
            "success_url": "http://x/",
            "cancel_url": "http://x/",
        }
    )
    assert stripe_standin.pay(session.id, "4242424242424242") is None
    method = client.v1.setup_intents.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).setup_intent
    ).payment_method
    return customer.id, method


def _intent(customer: str, method: str, key: str):
    return stripe_client().v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
        },
        options={"idempotency_key": key},
    )


def test_the_same_idempotency_key_returns_the_same_payment_intent(stripe_standin, customer_with_card):
    first = _intent(*customer_with_card, key="k1")
    again = _intent(*customer_with_card, key="k1")
    other = _intent(*customer_with_card, key="k2")

    assert first.id == again.id != other.id
    assert first.status == "succeeded"
    assert stripe_standin.count("payment_intent") == 2


def test_a_wrong_api_key_is_refused(stripe_standin, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(stripe.AuthenticationError):
        stripe_client().v1.customers.create(params={"name": "x"})


def test_a_refund_is_created_retrieved_and_announced(stripe_standin, customer_with_card):
    intent = _intent(*customer_with_card, key="k1")
    refund = stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})

    assert stripe_client().v1.refunds.retrieve(refund.id).amount == 500
    (event,) = [e for e in stripe_standin.events if e["type"] == "charge.refunded"]
    assert event["data"]["object"]["amount_refunded"] == 500
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 1501})


def test_the_stand_in_only_binds_the_loopback_interface():
    from payments.standin.server import StripeStandIn

    with pytest.raises(ValueError, match="loopback"):
        StripeStandIn(secret_key="k", webhook_secret="s", host="0.0.0.0")
