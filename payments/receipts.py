"""Receipts for paid top-ups (manual and auto): what was paid, when, by which card.

The card is read from Stripe the first time a receipt is produced (Checkout does not tell us
which card the payer typed) and kept on the top-up, so later receipts need no Stripe call.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import stripe
from django.utils import timezone

from payments.models import TopUp
from payments.stripe_api import stripe_client
from wallets.money import format_usd
from wallets.pdf import Document, Table, document_pdf

logger = logging.getLogger(__name__)

DATE_FORMAT = "%-d %b %Y, %H:%M %Z"  # 1 Dec 2026, 14:05 UTC: the pages' format


@dataclass(frozen=True)
class Receipt:
    number: str
    paid_at: datetime
    workspace: str
    wallet: str
    kind: str
    amount: Decimal
    card: str
    payment_id: str

    @property
    def filename(self) -> str:
        return f"receipt-{self.number}.pdf"


def receipt_number(*, topup: TopUp) -> str:
    """Stable and unique: the top-up's id, prefixed with the year it was created."""
    return f"R{topup.created_at:%Y}-{topup.pk:06d}"


def _card_fetch(topup: TopUp) -> None:
    """Ask Stripe which card paid and keep it on the top-up (outside any transaction)."""
    client = stripe_client().v1
    intent_id = topup.payment_intent_id
    if not intent_id and topup.checkout_session_id:
        intent_id = client.checkout.sessions.retrieve(topup.checkout_session_id).to_dict().get("payment_intent")
    if not intent_id:
        return
    method_id = client.payment_intents.retrieve(intent_id).to_dict().get("payment_method")
    card = client.payment_methods.retrieve(method_id).to_dict().get("card") if method_id else None
    if not card:
        return
    found = {"card_brand": card.get("brand", ""), "card_last4": card.get("last4", ""), "payment_intent_id": intent_id}
    TopUp.objects.filter(pk=topup.pk).update(**found)
    for name, value in found.items():
        setattr(topup, name, value)


def topup_receipt(*, topup: TopUp) -> Receipt:
    """The receipt of a paid top-up. Raises ValueError for one that was not paid."""
    if topup.status != TopUp.Status.SUCCEEDED:
        raise ValueError(f"Top-up {topup.pk} was not paid ({topup.get_status_display()}): it has no receipt.")
    if not topup.card_last4:
        try:
            _card_fetch(topup)
        except stripe.StripeError:
            # The receipt still stands without the card; the next download asks again.
            logger.warning("Could not read the card of top-up %s from Stripe", topup.pk, exc_info=True)
    card = f"{topup.card_brand.title()} ending {topup.card_last4}" if topup.card_last4 else "Card (details unavailable)"
    return Receipt(
        number=receipt_number(topup=topup),
        paid_at=timezone.localtime(topup.posting.created_at),
        workspace=topup.wallet.workspace.name,
        wallet=f"{topup.wallet.get_kind_display()} wallet",
        kind=topup.get_kind_display(),
        amount=topup.amount_paid,
        card=card,
        payment_id=topup.payment_intent_id or topup.checkout_session_id or "",
    )


def receipt_pdf(receipt: Receipt) -> bytes:
    return document_pdf(
        Document(
            title=f"Receipt {receipt.number}",
            subtitle=f"Paid {receipt.paid_at.strftime(DATE_FORMAT)}",
            facts=[
                ("Receipt number", receipt.number),
                ("Date paid", receipt.paid_at.strftime(DATE_FORMAT)),
                ("Workspace", receipt.workspace),
                ("Credited to", receipt.wallet),
                ("Top-up", receipt.kind),
                ("Payment method", receipt.card),
                ("Stripe payment id", receipt.payment_id),
            ],
            tables=[
                Table(
                    headings=["Description", "Amount"],
                    rows=[
                        [f"Prepaid credit, {receipt.wallet}", format_usd(receipt.amount)],
                        ["Total paid (USD)", format_usd(receipt.amount)],
                    ],
                    widths=[140, 40],
                    numeric=[1],
                    bold_rows=[1],
                )
            ],
            footer="Prepaid messaging credit. The amount was added to the wallet named above when the payment "
            "was confirmed. Keep this receipt for your records.",
        )
    )
