"""Signal receivers of the alerts app, connected in AlertsConfig.ready."""

from decimal import Decimal

from django.db.models.signals import post_save
from django.dispatch import receiver

from alerts import services
from wallets.models import Wallet, WalletTransaction
from wallets.signals import posting_committed


@receiver(posting_committed, dispatch_uid="alerts.events_on_posting")
def events_on_posting(
    sender: type, postings: list[WalletTransaction], wallet_id: int, balance: Decimal, **kwargs: object
) -> None:
    """Each committed run of postings: its threshold crossings, suspensions and top-ups."""
    services.posting_events_record(wallet_id=wallet_id, postings=postings)


@receiver(post_save, sender=Wallet, dispatch_uid="alerts.default_rules_for_new_wallet")
def default_rules_for_new_wallet(sender: type, instance: Wallet, created: bool, **kwargs: object) -> None:
    if created:
        services.alert_rules_default(wallet=instance)
