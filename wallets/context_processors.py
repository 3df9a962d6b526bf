from django.http import HttpRequest

from wallets import defaults
from wallets.models import Wallet
from wallets.selectors import wallet_status


def workspace_shell(request: HttpRequest) -> dict:
    """What the app shell needs on every workspace page: switcher and wallet states."""
    workspace = getattr(request, "workspace", None)
    if workspace is None or not request.user.is_authenticated:
        return {}
    wallets = request.wallets
    statuses = {kind: wallet_status(kind=kind, balance=wallet.balance) for kind, wallet in wallets.items()}
    return {
        "workspace": workspace,
        "membership": request.membership,
        "memberships": request.memberships,
        "shell_wallet_status": statuses,
        "shell_whatsapp": statuses.get(Wallet.Kind.WHATSAPP),
        "shell_sms": statuses.get(Wallet.Kind.SMS),
        # The numbers the pages' wording quotes, as settings have them (wallets.defaults).
        "rules": {
            "whatsapp_low": defaults.WHATSAPP_LOW_BALANCE,
            "sms_low": defaults.SMS_LOW_BALANCE,
            "top_up_min": defaults.TOP_UP_MIN,
            "top_up_max": defaults.TOP_UP_MAX,
        },
    }
