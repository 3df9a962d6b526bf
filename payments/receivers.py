from decimal import Decimal

from django.dispatch import receiver

from payments.services import auto_top_up_check
from wallets.models import WalletTransaction
from wallets.signals import posting_committed


@receiver(posting_committed, dispatch_uid="payments.auto_top_up_on_posting")
def auto_top_up_on_posting(
    sender: type, postings: list[WalletTransaction], wallet_id: int, balance: Decimal, **kwargs: object
) -> None:
    """Charges that leave the balance below the rule's threshold queue an auto top-up.

    Decided once per committed batch, on the balance after its last posting: that is
    the balance the top-up task will find, so a run of fees needs one check, not one
    per fee, and a batch that ends with a credit above the threshold needs none.
    """
    if all(posting.amount >= 0 for posting in postings):
        return
    auto_top_up_check(wallet_id=wallet_id, balance=balance)
