"""Reads for the top-up modal and the return pages."""

from dataclasses import dataclass
from decimal import Decimal

from payments.models import StripeCustomer, TopUp
from wallets.models import AutoTopUpRule, Wallet
from wallets.selectors import auto_top_up_rule

PRESET_AMOUNTS = tuple(Decimal(a) for a in ("20", "50", "100", "500", "1000", "2000"))


@dataclass(frozen=True)
class TopUpPanel:
    wallet: Wallet
    presets: tuple[Decimal, ...]
    rule: AutoTopUpRule | None
    customer: StripeCustomer | None
    last_auto_failure: TopUp | None
    whatsapp_thresholds: tuple[Decimal, ...]

    @property
    def has_saved_card(self) -> bool:
        return self.customer is not None and self.customer.has_saved_card


def topup_panel(*, wallet: Wallet) -> TopUpPanel:
    latest_auto = TopUp.objects.filter(wallet=wallet, kind=TopUp.Kind.AUTO).order_by("-id").first()
    return TopUpPanel(
        wallet=wallet,
        presets=PRESET_AMOUNTS,
        rule=auto_top_up_rule(wallet=wallet),
        customer=StripeCustomer.objects.filter(workspace_id=wallet.workspace_id).first(),
        last_auto_failure=latest_auto if latest_auto and latest_auto.status == TopUp.Status.FAILED else None,
        whatsapp_thresholds=AutoTopUpRule.WHATSAPP_THRESHOLDS,
    )


def topup_for_workspace(*, workspace_id: int, topup_id: int) -> TopUp | None:
    return TopUp.objects.filter(pk=topup_id, wallet__workspace_id=workspace_id).select_related("wallet").first()


def auto_top_up_pending(*, wallet_id: int) -> TopUp | None:
    """The wallet's one auto top-up in flight, if any (a partial unique index keeps it to one)."""
    return TopUp.objects.filter(wallet_id=wallet_id, kind=TopUp.Kind.AUTO, status=TopUp.Status.PENDING).first()


TOP_UP_HISTORY_LENGTH = 10  # rows on the wallet page; finance sees every top-up in the admin


def topup_history(*, wallet: Wallet) -> list[TopUp]:
    return list(TopUp.objects.filter(wallet=wallet).select_related("posting").order_by("-id")[:TOP_UP_HISTORY_LENGTH])
