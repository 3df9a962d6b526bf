"""Helpers for tests that cross Stripe: they drive the local stand-in as a person or Stripe would."""

from django.test import Client
from django.urls import reverse

from payments import services
from payments.standin.server import StripeStandIn
from wallets.models import Workspace

WEBHOOK_URL = "/payments/stripe/webhook/"


def session_id_of(checkout_url: str) -> str:
    return checkout_url.rsplit("/", 1)[-1]


def post_event(client: Client, standin: StripeStandIn, event: dict, *, timestamp: int | None = None):
    """Deliver an event to our webhook as Stripe would: signed with the endpoint secret."""
    payload, header = standin.signed(event, timestamp=timestamp)
    return client.post(WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def events_of(standin: StripeStandIn, event_type: str) -> list[dict]:
    return [e for e in standin.events if e["type"] == event_type]


def save_card(standin: StripeStandIn, workspace: Workspace, number: str = "4242424242424242") -> None:
    """Save a card through a setup-mode Checkout Session, as an admin would."""
    url = services.saved_card_checkout_start(workspace=workspace, base_url="http://testserver/")
    assert standin.pay(session_id_of(url), number) is None
    services.saved_card_sync(session_id=session_id_of(url))


def start_topup(client: Client, workspace: Workspace, kind: str, amount: str, custom: str = ""):
    return client.post(
        reverse("payments:topup_start", args=[workspace.slug, kind]),
        {"amount": amount, "custom_amount": custom},
    )


def paid_topup(client: Client, standin: StripeStandIn, workspace: Workspace, amount: str = "50"):
    """A manual top-up paid with a good card and credited (the success page's sync)."""
    from payments.models import TopUp

    url = start_topup(client, workspace, "whatsapp", amount).url
    assert standin.pay(session_id_of(url), "4242424242424242") is None
    topup = TopUp.objects.get(checkout_session_id=session_id_of(url))
    return services.topup_session_sync(topup=topup)
