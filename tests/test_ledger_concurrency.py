"""Concurrent postings on the real PostgreSQL.

These use transactional_db: each thread has its own connection and really
commits, which is what the row lock has to serialise.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, connections, transaction

from tests.factories import WorkspaceFactory, wallet_of
from wallets.models import Wallet, WalletTransaction
from wallets.selectors import ledger_verify
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
POSTINGS_PER_THREAD = 200


def _post_many(wallet_id: int, thread_no: int, amounts: list[Decimal]) -> None:
    try:
        for i, amount in enumerate(amounts):
            ledger_post(wallet_id=wallet_id, kind="adjustment", amount=amount, idempotency_key=f"t{thread_no}-{i}")
    finally:
        connections.close_all()


def test_eight_threads_posting_to_one_wallet_lose_no_update_and_keep_the_chain():
    wallet = wallet_of(WorkspaceFactory(), Wallet.Kind.SMS)
    plans = {
        t: [Decimal("1.000001") if i % 3 else Decimal("-0.333333") for i in range(POSTINGS_PER_THREAD)]
        for t in range(THREADS)
    }
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda t: _post_many(wallet.id, t, plans[t]), range(THREADS)))

    expected = sum((sum(p) for p in plans.values()), Decimal(0))
    wallet.refresh_from_db()
    assert WalletTransaction.objects.filter(wallet=wallet).count() == THREADS * POSTINGS_PER_THREAD
    assert wallet.balance == expected
    report = ledger_verify()
    assert report.problems == []
    assert report.transactions_checked == THREADS * POSTINGS_PER_THREAD


def test_concurrent_retries_of_the_same_key_post_once():
    wallet = wallet_of(WorkspaceFactory(), Wallet.Kind.WHATSAPP)

    def retry(_):
        try:
            return ledger_post(
                wallet_id=wallet.id, kind="top_up", amount=Decimal("50"), idempotency_key="checkout:cs_1"
            ).created
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(retry, range(16)))
    assert created.count(True) == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("50")


def test_a_posting_on_another_wallet_is_not_blocked_by_a_held_wallet_lock():
    """Thread A holds wallet 1's row lock. With a short lock_timeout, a posting to
    wallet 2 succeeds while a posting to wallet 1 times out waiting for the lock."""
    first = wallet_of(WorkspaceFactory(), Wallet.Kind.SMS)
    second = wallet_of(WorkspaceFactory(), Wallet.Kind.SMS)
    lock_held, release = threading.Event(), threading.Event()

    def hold_first_wallet():
        try:
            with transaction.atomic():
                ledger_post(wallet_id=first.id, kind="adjustment", amount=Decimal("1"), idempotency_key="hold")
                lock_held.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first_wallet)
    holder.start()
    try:
        assert lock_held.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            ledger_post(wallet_id=second.id, kind="adjustment", amount=Decimal("2"), idempotency_key="free")
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            ledger_post(wallet_id=first.id, kind="adjustment", amount=Decimal("3"), idempotency_key="blocked")
    finally:
        release.set()
        holder.join()
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.balance, second.balance) == (Decimal("1"), Decimal("2"))
