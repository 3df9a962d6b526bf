from decimal import Decimal

from django.dispatch import receiver

from payments import services
from wallets.models import WalletTransaction
from wallets.signals import posting_committed


@receiver(posting_committed, dispatch_uid="payments.auto_top_up_on_posting")
def auto_top_up_on_posting(
    sender: type,
    postings: list[WalletTransaction],
    wallet_id: int,
    balance: Decimal,
    auto_top_up_threshold: Decimal | None,
    **kwargs: object,
) -> None:
    """Charges that leave the balance below the rule's threshold queue an auto top-up.

    Decided once per committed batch, on the balance after its last posting: that is
    the balance the top-up task will find, so a run of fees needs one check, not one
    per fee, and a batch that ends with a credit above the threshold needs none. The
    threshold of the wallet's enabled rule was read by the posting itself, so this
    makes no query (on a hot wallet that query was half the cost of a posting).
    """
    if auto_top_up_threshold is None or all(posting.amount >= 0 for posting in postings):
        return
    if balance < auto_top_up_threshold:
        services.auto_top_up_queue(wallet_id=wallet_id)
