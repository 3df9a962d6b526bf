"""Reads about wallets and workspaces. The suspension rules live here, once."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from common.db import read_snapshot
from common.views import WorkspaceScope
from wallets import defaults
from wallets.models import AutoTopUpRule, Membership, Wallet, WalletTransaction, Workspace
from wallets.money import ZERO


class WalletState:
    OK = "ok"
    LOW = "low"
    SUSPENDED = "suspended"  # SMS: balance <= 0, all SMS/MMS in and out stop
    PAUSED = "paused"  # WhatsApp: balance < 0, sending stops


# What a badge says for each state, the same on every page.
WALLET_STATE_LABELS = {
    WalletState.OK: "Active",
    WalletState.LOW: "Low balance",
    WalletState.SUSPENDED: "Suspended",
    WalletState.PAUSED: "Sending paused",
}


@dataclass(frozen=True)
class WalletStatus:
    state: str
    balance: Decimal

    @property
    def label(self) -> str:
        return WALLET_STATE_LABELS[self.state]

    @property
    def messaging_allowed(self) -> bool:
        return self.state not in (WalletState.SUSPENDED, WalletState.PAUSED)


def wallet_status(*, kind: str, balance: Decimal) -> WalletStatus:
    """The reference pages' rules, in one place for the API, pages and banners.

    WhatsApp: below zero pauses sending; below WHATSAPP_LOW_BALANCE (US$20) is low (reminder banner).
    SMS: at or below zero suspends all SMS/MMS, inbound and outbound; below SMS_LOW_BALANCE is low.
    """
    if kind == Wallet.Kind.WHATSAPP:
        if balance < ZERO:
            return WalletStatus(WalletState.PAUSED, balance)
        low = defaults.WHATSAPP_LOW_BALANCE
    elif balance <= ZERO:
        return WalletStatus(WalletState.SUSPENDED, balance)
    else:
        low = defaults.SMS_LOW_BALANCE
    if balance < low:
        return WalletStatus(WalletState.LOW, balance)
    return WalletStatus(WalletState.OK, balance)


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_pick(*, memberships: list[Membership], workspace_slug: str) -> Membership:
    """The membership of the named workspace among the user's, or 404: another
    workspace's existence is not revealed."""
    for membership in memberships:
        if membership.workspace.slug == workspace_slug:
            return membership
    raise Http404("No such workspace.")


def workspace_wallets(*, workspace: Workspace) -> dict[str, Wallet]:
    """Both wallets, with their auto top-up rule (or its absence) loaded in the same query."""
    wallets = {
        wallet.kind: wallet for wallet in Wallet.objects.filter(workspace=workspace).select_related("auto_top_up")
    }
    for wallet in wallets.values():
        wallet.workspace = workspace
    return wallets


def workspace_scope(*, user: AbstractBaseUser, workspace_slug: str) -> WorkspaceScope:
    """settings.WORKSPACE_SCOPE for common.views.workspace_view: the user's memberships in one
    query (the switcher needs them all), the named workspace's (or 404), and its wallets."""
    memberships = list(memberships_for_user(user=user))
    membership = membership_pick(memberships=memberships, workspace_slug=workspace_slug)
    return WorkspaceScope(
        memberships=memberships, membership=membership, wallets=workspace_wallets(workspace=membership.workspace)
    )


def ledger_for_wallet(*, wallet: Wallet) -> QuerySet[WalletTransaction]:
    return WalletTransaction.objects.filter(wallet=wallet).order_by("-id")


@dataclass
class LedgerReport:
    wallets_checked: int = 0
    transactions_checked: int = 0
    problems: list[str] = field(default_factory=list)


def ledger_verify() -> LedgerReport:
    """Check every wallet in one pass over the ledger, streamed in wallet/id order.

    Each row must start where the previous one ended (balance_before equals the
    previous balance_after, the first starts at 0) and add up; the wallet's
    cached balance must equal the sum of its amounts. The cached balances and the
    ledger are read in one snapshot: a posting committed between the two reads (the
    daily check runs while wallets are charged) would otherwise look like a cached
    balance that disagrees with its ledger.
    """
    with read_snapshot():
        return _ledger_report()


def _ledger_report() -> LedgerReport:
    report = LedgerReport()
    cached = dict(Wallet.objects.values_list("id", "balance"))
    report.wallets_checked = len(cached)
    rows = (
        WalletTransaction.objects.order_by("wallet_id", "id")
        .values_list("wallet_id", "id", "amount", "balance_before", "balance_after")
        .iterator(chunk_size=10_000)
    )
    current_wallet, running, expected_before = None, ZERO, ZERO
    sums: dict[int, Decimal] = {}

    for wallet_id, txn_id, amount, before, after in rows:
        if wallet_id != current_wallet:
            if current_wallet is not None:
                sums[current_wallet] = running
            current_wallet, running, expected_before = wallet_id, ZERO, ZERO
        report.transactions_checked += 1
        running += amount
        if before != expected_before:
            report.problems.append(
                f"wallet {wallet_id}: row {txn_id} starts at {before}, previous row ended at {expected_before}"
            )
        if after != before + amount:
            report.problems.append(f"wallet {wallet_id}: row {txn_id} {before} + {amount} != {after}")
        if after != running:
            report.problems.append(f"wallet {wallet_id}: row {txn_id} balance_after {after} != running sum {running}")
        expected_before = after
    if current_wallet is not None:
        sums[current_wallet] = running

    for wallet_id, balance in sorted(cached.items()):
        ledger_sum = sums.get(wallet_id, ZERO)
        if balance != ledger_sum:
            report.problems.append(f"wallet {wallet_id}: cached balance {balance} != ledger sum {ledger_sum}")
    return report


def auto_top_up_rule(*, wallet: Wallet) -> AutoTopUpRule | None:
    """The wallet's rule; free when the wallet was loaded with select_related("auto_top_up")."""
    try:
        return wallet.auto_top_up
    except AutoTopUpRule.DoesNotExist:
        return None
