"""Writes to wallets. `ledger_post` is the only code that writes a ledger row or a balance."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from wallets.exceptions import IdempotencyKeyReused, InsufficientBalance, InvalidAmount, UnsupportedCurrency
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import CURRENCY, MAX_DIGITS, QUANTUM, ZERO
from wallets.signals import posting_committed

MAX_ABS_AMOUNT = Decimal(10) ** (MAX_DIGITS - 6) - QUANTUM


@dataclass(frozen=True)
class Posting:
    transaction: WalletTransaction
    created: bool  # False when the idempotency key had already been posted

    @property
    def balance_after(self) -> Decimal:
        return self.transaction.balance_after


def _validated_amount(amount: object, currency: str) -> Decimal:
    if currency != CURRENCY:
        raise UnsupportedCurrency(f"Only {CURRENCY} is supported, got {currency!r}.")
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        # Floats are refused outright: 0.1 + 0.2 is not 0.3 in binary.
        raise InvalidAmount(f"Amount must be a Decimal, got {type(amount).__name__}.")
    try:
        amount = Decimal(amount)
        if not amount.is_finite():
            raise InvalidAmount("Amount must be a finite number.")
        if amount != amount.quantize(QUANTUM):
            raise InvalidAmount(f"Amount {amount} has more than 6 decimal places.")
    except InvalidOperation as exc:
        raise InvalidAmount(f"Amount {amount} is not a valid number.") from exc
    if amount == ZERO:
        raise InvalidAmount("Amount must not be zero.")
    if abs(amount) > MAX_ABS_AMOUNT:
        raise InvalidAmount(f"Amount {amount} is too large.")
    return amount.quantize(QUANTUM)


def ledger_post(
    *,
    wallet_id: int,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    reference: str = "",
    memo: str = "",
    created_by: AbstractBaseUser | None = None,
    currency: str = CURRENCY,
    require_funds: bool = False,
) -> Posting:
    """Post a signed amount to a wallet, exactly once per idempotency key.

    Locks the wallet row, so concurrent postings to one wallet serialise and none
    is lost, while postings to other wallets proceed in parallel. A repeated key
    returns the first posting unchanged. With `require_funds` the posting is
    refused (InsufficientBalance) if it would take the balance below zero.
    May be called inside an outer transaction; the row lock is then held until
    the outer transaction ends.
    """
    amount = _validated_amount(amount, currency)
    if kind not in WalletTransaction.Kind.values:
        raise InvalidAmount(f"Unknown posting kind {kind!r}.")
    if not idempotency_key:
        raise InvalidAmount("An idempotency key is required.")

    with transaction.atomic():
        wallet = Wallet.objects.select_for_update().get(pk=wallet_id)
        existing = WalletTransaction.objects.filter(wallet_id=wallet_id, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.amount != amount or existing.kind != kind:
                raise IdempotencyKeyReused(
                    f"Key {idempotency_key!r} was used for {existing.kind} {existing.amount}, not {kind} {amount}."
                )
            return Posting(transaction=existing, created=False)

        new_balance = wallet.balance + amount
        if require_funds and new_balance < ZERO:
            raise InsufficientBalance(f"Balance {wallet.balance} does not cover {-amount}.")
        posted = WalletTransaction.objects.create(
            wallet_id=wallet_id,
            kind=kind,
            amount=amount,
            balance_before=wallet.balance,
            balance_after=new_balance,
            reference=reference,
            memo=memo,
            idempotency_key=idempotency_key,
            created_by=created_by,
        )
        # The exact Decimal computed under the lock, not F("balance") + amount:
        # SQLite (demo only) would do that sum in binary floating point.
        Wallet.objects.filter(pk=wallet_id).update(balance=new_balance)

        transaction.on_commit(
            lambda: posting_committed.send(
                sender=WalletTransaction, posting=posted, wallet_id=wallet_id, balance=new_balance
            )
        )
    return Posting(transaction=posted, created=True)


def wallets_ensure(*, workspace: Workspace) -> dict[str, Wallet]:
    """Every workspace has exactly one WhatsApp and one SMS wallet."""
    return {
        kind: Wallet.objects.get_or_create(workspace=workspace, kind=kind)[0]
        for kind in (Wallet.Kind.WHATSAPP, Wallet.Kind.SMS)
    }
