"""ledger_post_many: several postings to one wallet under one lock, each as ledger_post would make it."""

from decimal import Decimal

import pytest

from tests.factories import fund, wallet_of
from wallets.exceptions import IdempotencyKeyReused, InvalidAmount
from wallets.models import Wallet, WalletTransaction
from wallets.selectors import ledger_verify
from wallets.services import PostingRequest, ledger_post_many

pytestmark = pytest.mark.django_db
D = Decimal


def fee(key: str, amount: str = "-1.000000") -> PostingRequest:
    return PostingRequest(kind="number_fee", amount=D(amount), idempotency_key=key)


def test_postings_are_chained_in_order_and_the_balance_follows(workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "5.00", key="fund")

    postings = ledger_post_many(wallet_id=wallet.id, requests=[fee("a"), fee("b", "-2.500000"), fee("c")])

    assert [(p.transaction.balance_before, p.transaction.balance_after, p.created) for p in postings] == [
        (D("5.000000"), D("4.000000"), True),
        (D("4.000000"), D("1.500000"), True),
        (D("1.500000"), D("0.500000"), True),
    ]
    assert Wallet.objects.get(pk=wallet.pk).balance == D("0.500000")
    assert ledger_verify().problems == []


def test_with_require_funds_posting_stops_before_the_first_request_not_covered(workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "2.50", key="fund")

    postings = ledger_post_many(
        wallet_id=wallet.id, requests=[fee("a"), fee("b"), fee("c"), fee("d", "-0.100000")], require_funds=True
    )

    assert [p.transaction.idempotency_key for p in postings] == ["a", "b"]
    assert Wallet.objects.get(pk=wallet.pk).balance == D("0.500000")
    assert not WalletTransaction.objects.filter(idempotency_key__in=["c", "d"]).exists()


def test_repeated_keys_return_the_first_posting_and_post_nothing_again(workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "5.00", key="fund")
    first = ledger_post_many(wallet_id=wallet.id, requests=[fee("a")])[0]

    again = ledger_post_many(wallet_id=wallet.id, requests=[fee("a"), fee("b"), fee("b")])

    assert [(p.transaction.pk is not None, p.created) for p in again] == [(True, False), (True, True), (True, False)]
    assert again[0].transaction.pk == first.transaction.pk
    assert again[1].transaction is again[2].transaction
    assert WalletTransaction.objects.filter(wallet=wallet, kind="number_fee").count() == 2
    assert Wallet.objects.get(pk=wallet.pk).balance == D("3.000000")


def test_a_reused_key_with_another_amount_rolls_the_whole_batch_back(workspace):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "5.00", key="fund")
    ledger_post_many(wallet_id=wallet.id, requests=[fee("a")])

    with pytest.raises(IdempotencyKeyReused):
        ledger_post_many(wallet_id=wallet.id, requests=[fee("b"), fee("a", "-2.000000")])

    assert not WalletTransaction.objects.filter(idempotency_key="b").exists()
    assert Wallet.objects.get(pk=wallet.pk).balance == D("4.000000")


def test_an_invalid_request_anywhere_in_the_batch_writes_nothing(workspace):
    wallet = wallet_of(workspace, "sms")

    with pytest.raises(InvalidAmount, match="more than 6 decimal places"):
        ledger_post_many(wallet_id=wallet.id, requests=[fee("a"), fee("b", "-0.0000001")])

    assert not WalletTransaction.objects.filter(wallet=wallet).exists()
