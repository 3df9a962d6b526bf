"""Property-based tests of the ledger (hypothesis): whatever sequence of postings, repeated
keys, refused postings and concurrent retries, `balance == sum(ledger)`, the balance_after
chain is unbroken, and each idempotency key is posted at most once."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import WorkspaceFactory, wallet_of
from wallets.exceptions import IdempotencyKeyReused, InsufficientBalance
from wallets.models import WalletTransaction
from wallets.selectors import ledger_verify
from wallets.services import ledger_post

KINDS = ["top_up", "auto_top_up", "message_charge", "carrier_fee", "number_fee", "adjustment", "refund"]
amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("500"), places=6).filter(lambda d: d != 0)
postings = st.tuples(st.sampled_from([f"k{n}" for n in range(8)]), amounts, st.sampled_from(KINDS), st.booleans())


def _assert_ledger_sound(wallet_id: int, expected: dict[str, Decimal]) -> None:
    rows = list(WalletTransaction.objects.filter(wallet_id=wallet_id).order_by("id"))
    balance = wallet_of_id(wallet_id)
    assert balance == sum((r.amount for r in rows), Decimal(0)) == sum(expected.values(), Decimal(0))
    assert {r.idempotency_key: r.amount for r in rows} == expected
    running = Decimal(0)
    for row in rows:
        assert row.balance_before == running and row.balance_after == running + row.amount
        running = row.balance_after
    assert ledger_verify().problems == []


def wallet_of_id(wallet_id: int) -> Decimal:
    from wallets.models import Wallet

    return Wallet.objects.get(pk=wallet_id).balance


@pytest.mark.django_db
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(postings, min_size=1, max_size=25))
def test_any_sequence_of_postings_and_repeats_keeps_balance_equal_to_the_ledger(sequence):
    wallet = wallet_of(WorkspaceFactory(), "sms")
    expected: dict[str, Decimal] = {}
    kinds: dict[str, str] = {}
    for key, amount, kind, require_funds in sequence:
        balance = sum(expected.values(), Decimal(0))
        try:
            posting = ledger_post(
                wallet_id=wallet.id, kind=kind, amount=amount, idempotency_key=key, require_funds=require_funds
            )
        except IdempotencyKeyReused:
            assert key in expected and (expected[key], kinds[key]) != (amount, kind)
            continue
        except InsufficientBalance:
            assert key not in expected and require_funds and balance + amount < 0
            continue
        if key in expected:
            assert not posting.created and posting.transaction.amount == expected[key]
        else:
            assert posting.created and posting.balance_after == balance + amount
            expected[key], kinds[key] = amount, kind
    _assert_ledger_sound(wallet.id, expected)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(st.tuples(st.sampled_from([f"r{n}" for n in range(6)]), amounts), min_size=1, max_size=6))
def test_concurrent_retries_of_the_same_postings_post_each_key_once(batch):
    """Four threads post the same batch at once, like retries racing each other."""
    wallet = wallet_of(WorkspaceFactory(), "whatsapp")
    first: dict[str, Decimal] = {}
    for key, amount in batch:
        first.setdefault(key, amount)
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            for key, amount in first.items():
                ledger_post(wallet_id=wallet.id, kind="adjustment", amount=amount, idempotency_key=key)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert WalletTransaction.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] == sum(first.values())
    _assert_ledger_sound(wallet.id, first)
