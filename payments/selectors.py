"""Reads for the top-up modal and the return pages."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from payments import defaults
from payments.models import StripeCustomer, TopUp
from wallets import defaults as wallet_defaults
from wallets.models import AutoTopUpRule, Wallet
from wallets.money import format_usd
from wallets.selectors import auto_top_up_rule


@dataclass(frozen=True)
class TopUpPanel:
    wallet: Wallet
    presets: tuple[Decimal, ...]
    rule: AutoTopUpRule | None
    customer: StripeCustomer | None
    last_auto_failure: TopUp | None
    pause: "AutoTopUpPause | None"
    whatsapp_thresholds: tuple[Decimal, ...]

    @property
    def has_saved_card(self) -> bool:
        return self.customer is not None and self.customer.has_saved_card


def topup_panel(*, wallet: Wallet) -> TopUpPanel:
    latest_auto = TopUp.objects.filter(wallet=wallet, kind=TopUp.Kind.AUTO).order_by("-id").first()
    rule = auto_top_up_rule(wallet=wallet)
    customer = StripeCustomer.objects.filter(workspace_id=wallet.workspace_id).first()
    enabled = rule is not None and rule.enabled
    return TopUpPanel(
        wallet=wallet,
        presets=defaults.TOP_UP_PRESET_AMOUNTS,
        rule=rule,
        customer=customer,
        last_auto_failure=latest_auto if latest_auto and latest_auto.status == TopUp.Status.FAILED else None,
        pause=auto_top_up_pause(wallet=wallet, rule=rule, customer=customer, now=timezone.now()) if enabled else None,
        whatsapp_thresholds=wallet_defaults.WHATSAPP_AUTO_TOP_UP_THRESHOLDS,
    )


def topup_for_workspace(*, workspace_id: int, topup_id: int) -> TopUp | None:
    return TopUp.objects.filter(pk=topup_id, wallet__workspace_id=workspace_id).select_related("wallet").first()


def auto_top_up_pending(*, wallet_id: int) -> TopUp | None:
    """The wallet's one auto top-up in flight, if any (a partial unique index keeps it to one)."""
    return TopUp.objects.filter(wallet_id=wallet_id, kind=TopUp.Kind.AUTO, status=TopUp.Status.PENDING).first()


@dataclass(frozen=True)
class AutoTopUpPause:
    """Why auto top-up will not charge now, and the one thing that resumes it."""

    class Action:
        REPLACE_CARD = "replace_card"
        RAISE_CAP = "raise_cap"
        WAIT = "wait"

    reason: str
    action: str
    until: datetime | None = None


def _month_start(now: datetime) -> datetime:
    return timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def auto_top_up_pause(
    *, wallet: Wallet, rule: AutoTopUpRule, customer: StripeCustomer | None, now: datetime
) -> AutoTopUpPause | None:
    """The retry policy, in one place for the charge and the page: a card Stripe said not to
    charge again, at most AUTO_TOP_UP_MAX_REATTEMPTS reattempts per card in 30 days, a
    back-off doubling from the first failure, the daily maximum and the monthly cap."""
    Action = AutoTopUpPause.Action
    if customer is None or not customer.has_saved_card:
        return AutoTopUpPause("there is no saved card to charge", Action.REPLACE_CARD)
    if customer.card_paused_reason:
        return AutoTopUpPause(customer.card_paused_reason.rstrip("."), Action.REPLACE_CARD)
    attempts = TopUp.objects.filter(wallet=wallet, kind=TopUp.Kind.AUTO)
    window = now - timedelta(days=defaults.AUTO_TOP_UP_REATTEMPT_WINDOW_DAYS)
    card_failures = TopUp.objects.filter(
        wallet__workspace_id=wallet.workspace_id,
        kind=TopUp.Kind.AUTO,
        status=TopUp.Status.FAILED,
        payment_method_id=customer.payment_method_id,
        created_at__gte=window,
    ).count()
    if card_failures > defaults.AUTO_TOP_UP_MAX_REATTEMPTS:
        return AutoTopUpPause(
            f"the saved card was declined {card_failures} times in {defaults.AUTO_TOP_UP_REATTEMPT_WINDOW_DAYS} days",
            Action.REPLACE_CARD,
        )
    last_success = attempts.filter(status=TopUp.Status.SUCCEEDED).order_by("-id").values_list("id", flat=True).first()
    failures = attempts.filter(status=TopUp.Status.FAILED, created_at__gte=window, id__gt=last_success or 0)
    latest = failures.order_by("-id").first()
    if latest is not None:
        until = latest.created_at + timedelta(seconds=defaults.AUTO_TOP_UP_RETRY_AFTER * 2 ** (failures.count() - 1))
        if now < until:
            reason = latest.failure_reason.rstrip(".")  # the page ends the sentence
            return AutoTopUpPause(f"the last attempt failed: {reason}", Action.WAIT, until)
    today = attempts.filter(created_at__gte=now - timedelta(days=1))
    if today.count() >= defaults.AUTO_TOP_UP_MAX_PER_DAY:
        oldest = today.order_by("created_at").values_list("created_at", flat=True).first()
        return AutoTopUpPause(
            f"it ran {defaults.AUTO_TOP_UP_MAX_PER_DAY} times in the last 24 hours",
            Action.WAIT,
            oldest + timedelta(days=1),
        )
    if rule.monthly_cap is not None:
        month = attempts.filter(created_at__gte=_month_start(now)).exclude(status=TopUp.Status.FAILED)
        month = month.exclude(status=TopUp.Status.EXPIRED)
        spent = sum((t.amount_paid if t.amount_paid is not None else t.amount for t in month), Decimal(0))
        if spent + rule.amount > rule.monthly_cap:
            return AutoTopUpPause(
                f"this month's auto top-ups ({format_usd(spent)}) would pass the monthly cap of "
                f"{format_usd(rule.monthly_cap)}",
                Action.RAISE_CAP,
            )
    return None


TOP_UP_HISTORY_LENGTH = 10  # rows on the wallet page; finance sees every top-up in the admin


def topup_history(*, wallet: Wallet) -> list[TopUp]:
    return list(TopUp.objects.filter(wallet=wallet).select_related("posting").order_by("-id")[:TOP_UP_HISTORY_LENGTH])
