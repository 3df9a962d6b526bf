"""Signal receivers of the phone_numbers app, connected in PhoneNumbersConfig.ready."""

from decimal import Decimal

from django.db import transaction
from django.dispatch import receiver

from wallets.models import Wallet, WalletTransaction
from wallets.signals import posting_committed

CREDIT_KINDS = (WalletTransaction.Kind.TOP_UP, WalletTransaction.Kind.AUTO_TOP_UP, WalletTransaction.Kind.ADJUSTMENT)


@receiver(posting_committed, dispatch_uid="phone_numbers.settle_number_fees_after_credit")
def settle_number_fees_after_credit(
    sender, postings: list[WalletTransaction], wallet_id: int, balance: Decimal, wallet_kind: str, **kwargs
) -> None:
    """A credit to an SMS wallet may pay unpaid number fees: queue the (idempotent) settle task,
    once per committed batch however many credits it holds."""
    if not any(posting.kind in CREDIT_KINDS and posting.amount > 0 for posting in postings):
        return
    if wallet_kind != Wallet.Kind.SMS:
        return
    from phone_numbers.tasks import settle_number_fees

    transaction.on_commit(lambda: settle_number_fees.delay(wallet_id))
