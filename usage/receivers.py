"""Signal receivers of the usage app, connected in UsageConfig.ready."""

from decimal import Decimal

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from usage.authz_cache import key_forget, numbers_version_bump
from usage.models import ApiKey, Channel, PhoneNumber
from wallets.models import Wallet, WalletTransaction
from wallets.signals import posting_committed

CREDIT_KINDS = (WalletTransaction.Kind.TOP_UP, WalletTransaction.Kind.AUTO_TOP_UP, WalletTransaction.Kind.ADJUSTMENT)


@receiver(posting_committed, dispatch_uid="usage.settle_number_fees_after_credit")
def settle_number_fees_after_credit(
    sender, postings: list[WalletTransaction], wallet_id: int, balance: Decimal, **kwargs
) -> None:
    """A credit to an SMS wallet may pay unpaid number fees: queue the (idempotent) settle task,
    once per committed batch however many credits it holds."""
    if not any(posting.kind in CREDIT_KINDS and posting.amount > 0 for posting in postings):
        return
    if not Wallet.objects.filter(pk=wallet_id, kind=Wallet.Kind.SMS).exists():
        return
    from usage.tasks import settle_number_fees

    transaction.on_commit(lambda: settle_number_fees.delay(wallet_id))


@receiver(post_save, sender=PhoneNumber, dispatch_uid="usage.authorization_follows_numbers_saved")
@receiver(post_delete, sender=PhoneNumber, dispatch_uid="usage.authorization_follows_numbers_deleted")
def authorization_follows_numbers(sender, instance: PhoneNumber, **kwargs) -> None:
    """A number bought, released or moved changes the routes of the workspace's references.
    Bumped now (for reads inside this transaction) and after the commit (for everyone else)."""
    workspace_id = Channel.objects.values_list("workspace_id", flat=True).get(pk=instance.channel_id)
    numbers_version_bump(workspace_id)
    transaction.on_commit(lambda: numbers_version_bump(workspace_id))


@receiver(post_delete, sender=ApiKey, dispatch_uid="usage.api_key_deleted")
def api_key_deleted(sender, instance: ApiKey, **kwargs) -> None:
    """A deleted key (or its workspace's) answers no call again, cached or not."""
    key_forget(key_hash=instance.key_hash)
    transaction.on_commit(lambda: key_forget(key_hash=instance.key_hash))
