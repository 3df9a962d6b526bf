from decimal import Decimal

from django.dispatch import receiver

from payments.services import auto_top_up_queue
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.signals import posting_committed


@receiver(posting_committed, dispatch_uid="payments.auto_top_up_on_posting")
def auto_top_up_on_posting(
    sender: type, posting: WalletTransaction, wallet_id: int, balance: Decimal, **kwargs: object
) -> None:
    """A charge that leaves the balance below the rule's threshold queues an auto top-up."""
    if posting.amount >= 0:
        return
    if AutoTopUpRule.objects.filter(wallet_id=wallet_id, enabled=True, threshold__gt=balance).exists():
        auto_top_up_queue(wallet_id=wallet_id)
