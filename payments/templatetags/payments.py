from django import template

from payments.selectors import TopUpPanel, topup_history, topup_panel
from wallets.models import Wallet

register = template.Library()


@register.simple_tag
def topup_panel_for(wallet: Wallet) -> TopUpPanel:
    """Lets the modal include take just a wallet, on whichever page includes it."""
    return topup_panel(wallet=wallet)


@register.inclusion_tag("payments/_topup_history.html", takes_context=True)
def topup_history_for(context, wallet: Wallet) -> dict:
    """The wallet's recent top-ups with their receipts, on whichever wallet page includes it."""
    return {"top_ups": topup_history(wallet=wallet), "workspace": context["workspace"]}


@register.simple_tag(takes_context=True)
def topup_form_with_errors(context, wallet: Wallet) -> str:
    """ "manual" or "auto" when the server sent that form of this wallet back with errors
    (payments.views tags them topup-<kind>-<form>): the dialog reopens on it."""
    for message in context.get("messages") or []:
        for form in ("manual", "auto"):
            if f"topup-{wallet.kind}-{form}" in message.tags.split():
                return form
    return ""
