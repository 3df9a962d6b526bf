from django import template

from payments.selectors import TopUpPanel, topup_panel
from wallets.models import Wallet

register = template.Library()


@register.simple_tag
def topup_panel_for(wallet: Wallet) -> TopUpPanel:
    """Lets the modal include take just a wallet, on whichever page includes it."""
    return topup_panel(wallet=wallet)
