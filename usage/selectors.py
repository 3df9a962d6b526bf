"""Reads for the platform API: which channel a reference names, may it send, what would a send cost."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from usage.events import FieldError
from usage.models import Channel, PhoneNumber, UsageRecord
from usage.pricing import PriceBook, Quote
from wallets.models import AutoTopUpRule, Wallet, Workspace
from wallets.money import ZERO
from wallets.selectors import WalletState, WalletStatus, wallet_status


class ChannelNotFound(FieldError):
    """Unknown, or another workspace's: the answer is the same, so nothing leaks."""

    def __init__(self) -> None:
        super().__init__("channel", "No such channel in this workspace.")


@dataclass(frozen=True)
class ChannelRef:
    channel: Channel
    number: PhoneNumber | None  # set when the platform named the channel by its number


def channels_resolve(*, workspace: Workspace, refs: Iterable[int | str]) -> dict[int | str, ChannelRef]:
    """Channel ids and E.164 numbers of this workspace only, in two queries; unknown refs are absent.

    A number is matched to the holder that has not released it; failing that, to this
    workspace's released number, so usage still in flight after a release is recorded.
    """
    refs = set(refs)
    ids = [ref for ref in refs if isinstance(ref, int)]
    numbers = [ref for ref in refs if isinstance(ref, str)]
    found: dict[int | str, ChannelRef] = {}
    if ids:
        for channel in Channel.objects.filter(workspace=workspace, pk__in=ids):
            found[channel.pk] = ChannelRef(channel, None)
    if numbers:
        held = PhoneNumber.objects.filter(channel__workspace=workspace, number__in=numbers).select_related("channel")
        for number in held.order_by("number", "released_at"):
            if number.number not in found or number.status != PhoneNumber.Status.RELEASED:
                found[number.number] = ChannelRef(number.channel, number)
    return found


def channel_resolve(*, workspace: Workspace, ref: int | str) -> ChannelRef:
    found = channels_resolve(workspace=workspace, refs=[ref]).get(ref)
    if found is None:
        raise ChannelNotFound
    return found


def wallet_for_channel(*, channel: Channel) -> Wallet:
    return Wallet.objects.get(workspace_id=channel.workspace_id, kind=channel.wallet_kind)


def _number_released(ref: ChannelRef) -> bool:
    """Named by a released number, or an SMS channel whose every number is released."""
    if ref.number is not None:
        return ref.number.status == PhoneNumber.Status.RELEASED
    if ref.channel.kind != Channel.Kind.SMS:
        return False
    statuses = set(PhoneNumber.objects.filter(channel=ref.channel).values_list("status", flat=True))
    return statuses == {PhoneNumber.Status.RELEASED}


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    reason: str | None
    balance: Decimal


def message_authorize(*, ref: ChannelRef, direction: str) -> Authorization:
    """May this channel send (or receive) a message now? Uses `wallet_status`, the one rule.

    SMS wallet at or below zero: all SMS/MMS, both directions, stop. WhatsApp wallet below
    zero: sending pauses; receiving goes on (the customer's messages still arrive).
    """
    wallet = wallet_for_channel(channel=ref.channel)
    if _number_released(ref):
        return Authorization(False, "number_released", wallet.balance)
    status = wallet_status(kind=wallet.kind, balance=wallet.balance)
    if status.state == WalletState.SUSPENDED:
        return Authorization(False, "sms_wallet_empty", wallet.balance)
    if status.state == WalletState.PAUSED and direction == UsageRecord.Direction.OUTBOUND:
        return Authorization(False, "whatsapp_balance_negative", wallet.balance)
    return Authorization(True, None, wallet.balance)


@dataclass(frozen=True)
class Estimate:
    quote: Quote
    recipients: int
    total: Decimal
    balance: Decimal

    @property
    def balance_after(self) -> Decimal:
        return self.balance - self.total

    @property
    def covered(self) -> bool:
        return self.balance_after >= ZERO


def send_estimate(
    *, ref: ChannelRef, message_type: str, category: str, direction: str, country: str, segments: int, recipients: int
) -> Estimate:
    """The cost of sending one message to `recipients` people now, and whether the balance covers it."""
    quote = PriceBook.load(countries=[country]).quote(
        at=timezone.now(),
        message_type=message_type,
        category=category,
        direction=direction,
        country=country,
        segments=segments,
    )
    wallet = wallet_for_channel(channel=ref.channel)
    return Estimate(quote=quote, recipients=recipients, total=quote.total * recipients, balance=wallet.balance)


@dataclass(frozen=True)
class WalletOverview:
    wallet: Wallet
    status: WalletStatus
    auto_top_up: AutoTopUpRule | None


def wallets_overview(*, workspace: Workspace) -> list[WalletOverview]:
    wallets = Wallet.objects.filter(workspace=workspace).select_related("auto_top_up").order_by("kind")
    return [
        WalletOverview(
            wallet=wallet,
            status=wallet_status(kind=wallet.kind, balance=wallet.balance),
            auto_top_up=getattr(wallet, "auto_top_up", None),
        )
        for wallet in wallets
    ]
