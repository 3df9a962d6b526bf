"""Writes to wallets. `ledger_post` is the only code that writes a ledger row or a balance."""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

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


@dataclass(frozen=True)
class PostingRequest:
    """One posting to make; see ledger_post for the meaning of each field."""

    kind: str
    amount: Decimal
    idempotency_key: str
    reference: str = ""
    memo: str = ""
    created_by: AbstractBaseUser | None = None


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
    request = PostingRequest(kind, amount, idempotency_key, reference, memo, created_by)
    postings = ledger_post_many(wallet_id=wallet_id, requests=[request], currency=currency, require_funds=require_funds)
    if not postings:
        balance = Wallet.objects.values_list("balance", flat=True).get(pk=wallet_id)
        raise InsufficientBalance(f"Balance {balance} does not cover {-request.amount}.")
    return postings[0]


def ledger_post_many(
    *, wallet_id: int, requests: list[PostingRequest], currency: str = CURRENCY, require_funds: bool = False
) -> list[Posting]:
    """Post several amounts to one wallet, in order, under one lock, in one statement.

    Each request behaves as `ledger_post` would (a repeated key returns its first
    posting). With `require_funds`, posting stops before the first request the
    balance does not cover: the postings returned are those made (or found), in
    order, and the caller learns from their number where it stopped. The batch
    exists for work that charges many items to one wallet (the monthly fee run):
    one lock and one round trip instead of four queries and a commit per item.
    The statement is the PL/pgSQL function `ledger_post_many` (wallets/migrations/sql/ledger_post_many_2.sql).
    """
    requests = [_validated_request(request, currency) for request in requests]
    postings, facts = _post_sql(wallet_id, requests, require_funds)
    new = [posting.transaction for posting in postings if posting.created]
    if new:
        # Outside a transaction the posting has committed already and this runs now.
        transaction.on_commit(lambda: _announce(wallet_id, new, facts))
    return postings


LEDGER_POST_SQL = "SELECT * FROM ledger_post_many(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
RETURNED = ("id", "kind", "amount", "balance_before", "balance_after", "reference", "memo", "idempotency_key",
            "created_at", "created_by_id")  # fmt: skip
RETURNED_COUNT = len(RETURNED)
CREATED = RETURNED_COUNT  # then what the statement read about the wallet (WalletFacts)


@dataclass(frozen=True)
class WalletFacts:
    """What the posting statement read about the wallet, for posting_committed's receivers."""

    auto_top_up_threshold: Decimal | None
    kind: str
    workspace_id: int
    alert_rules: list[tuple[int, Decimal]]  # (rule id, threshold), highest threshold first

    @classmethod
    def from_row(cls, row: tuple) -> "WalletFacts":
        threshold, kind, workspace_id, rule_ids, thresholds = row[CREATED + 1 :]
        return cls(threshold, kind, workspace_id, list(zip(rule_ids or [], thresholds or [], strict=True)))


def _post_sql(
    wallet_id: int, requests: list[PostingRequest], require_funds: bool
) -> tuple[list[Posting], WalletFacts | None]:
    """The whole batch in one statement (wallets/migrations/sql/ledger_post_many_2.sql), so the wallet
    lock is held for one round trip and the COMMIT instead of four round trips and Python."""
    # Outside a transaction the statement commits on its own; inside one, a savepoint
    # keeps a refused batch from aborting the caller's transaction.
    block = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with block, connection.cursor() as cursor, _posting_errors():
        cursor.execute(
            LEDGER_POST_SQL,
            [
                wallet_id,
                [request.kind for request in requests],
                [request.amount for request in requests],
                [request.idempotency_key for request in requests],
                [request.reference for request in requests],
                [request.memo for request in requests],
                [request.created_by.pk if request.created_by else None for request in requests],
                timezone.now(),
                require_funds,
            ],
        )
        rows = cursor.fetchall()
    postings, by_id = [], {}
    for request, row in zip(requests, rows, strict=False):
        posted = by_id.get(row[0])  # a key repeated in the batch: the same posting object
        if posted is None:
            posted = by_id[row[0]] = WalletTransaction(
                wallet_id=wallet_id, **dict(zip(RETURNED, row[:RETURNED_COUNT], strict=True))
            )
            posted._state.adding = False
            posted._state.db = connection.alias
            if row[CREATED] and request.created_by is not None:
                posted.created_by = request.created_by
        postings.append(Posting(transaction=posted, created=row[CREATED]))
    return postings, WalletFacts.from_row(rows[0]) if rows else None


@contextmanager
def _posting_errors() -> Iterator[None]:
    """The function's refusals (wallets/migrations/sql/ledger_post_many_2.sql) as typed Python errors."""
    try:
        yield
    except DatabaseError as error:
        sqlstate = getattr(error.__cause__, "sqlstate", None)
        if sqlstate == "BL001":
            raise IdempotencyKeyReused(error.__cause__.diag.message_primary) from None
        if sqlstate == "P0002":
            raise Wallet.DoesNotExist(error.__cause__.diag.message_primary) from None
        raise


def _announce(wallet_id: int, posted: list[WalletTransaction], facts: WalletFacts) -> None:
    # One signal per wallet per commit: receivers decide once for the batch, not once per row.
    posting_committed.send(
        sender=WalletTransaction,
        postings=posted,
        wallet_id=wallet_id,
        balance=posted[-1].balance_after,
        auto_top_up_threshold=facts.auto_top_up_threshold,
        wallet_kind=facts.kind,
        workspace_id=facts.workspace_id,
        alert_rules=facts.alert_rules,
    )


def _validated_request(request: PostingRequest, currency: str) -> PostingRequest:
    if request.kind not in WalletTransaction.Kind.values:
        raise InvalidAmount(f"Unknown posting kind {request.kind!r}.")
    if not request.idempotency_key:
        raise InvalidAmount("An idempotency key is required.")
    return replace(request, amount=_validated_amount(request.amount, currency))


def wallets_ensure(*, workspace: Workspace) -> dict[str, Wallet]:
    """Every workspace has exactly one WhatsApp and one SMS wallet."""
    return {
        kind: Wallet.objects.get_or_create(workspace=workspace, kind=kind)[0]
        for kind in (Wallet.Kind.WHATSAPP, Wallet.Kind.SMS)
    }
