"""Signal receivers of the alerts app, connected in AlertsConfig.ready."""

from decimal import Decimal

from django.db.models.signals import post_save
from django.dispatch import receiver

from alerts import services
from alerts.selectors import WalletAlerting
from payments.models import TopUp
from payments.signals import auto_top_up_failed, auto_top_up_paused
from wallets.models import Wallet, WalletTransaction
from wallets.signals import posting_committed


@receiver(posting_committed, dispatch_uid="alerts.events_on_posting")
def events_on_posting(
    sender: type,
    postings: list[WalletTransaction],
    wallet_id: int,
    balance: Decimal,
    wallet_kind: str,
    workspace_id: int,
    alert_rules: list[tuple[int, Decimal]],
    **kwargs: object,
) -> None:
    """Each committed run of postings: its threshold crossings, suspensions and top-ups.
    The posting read the wallet's kind, workspace and rules: no query of its own."""
    alerting = WalletAlerting(wallet_id, wallet_kind, workspace_id, alert_rules)
    services.posting_events_record(wallet_id=wallet_id, postings=postings, alerting=alerting)


@receiver(post_save, sender=Wallet, dispatch_uid="alerts.default_rules_for_new_wallet")
def default_rules_for_new_wallet(sender: type, instance: Wallet, created: bool, **kwargs: object) -> None:
    if created:
        services.alert_rules_default(wallet=instance)


@receiver(auto_top_up_failed, dispatch_uid="alerts.auto_top_up_failed")
def event_on_auto_top_up_failed(sender: type, topup: TopUp, reason: str, card_paused: bool, **kwargs: object) -> None:
    services.auto_top_up_failed_record(topup=topup, reason=reason, card_paused=card_paused)


@receiver(auto_top_up_paused, dispatch_uid="alerts.auto_top_up_paused")
def event_on_auto_top_up_paused(sender: type, wallet: Wallet, reason: str, until, **kwargs: object) -> None:
    services.auto_top_up_paused_record(wallet=wallet, reason=reason, until=until)
