from decimal import Decimal

import pytest

from tests.factories import WorkspaceFactory, wallet_of
from wallets.exceptions import IdempotencyKeyReused, InsufficientBalance, InvalidAmount, UnsupportedCurrency
from wallets.models import Wallet, WalletTransaction
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_wallet():
    return wallet_of(WorkspaceFactory(), Wallet.Kind.SMS)


def post(wallet, amount, key, kind="adjustment", **kwargs):
    return ledger_post(wallet_id=wallet.id, kind=kind, amount=amount, idempotency_key=key, **kwargs)


def test_mixed_credits_and_debits_leave_an_exact_balance_to_six_places(sms_wallet):
    post(sms_wallet, Decimal("100.00"), "a", kind="top_up")
    post(sms_wallet, Decimal("-0.007900"), "b", kind="message_charge")
    post(sms_wallet, Decimal("-0.003300"), "c", kind="carrier_fee")
    last = post(sms_wallet, Decimal("-1.150000"), "d", kind="number_fee")

    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("98.838800")
    assert last.balance_after == Decimal("98.838800")
    rows = list(WalletTransaction.objects.filter(wallet=sms_wallet).order_by("id"))
    assert [r.balance_after for r in rows] == [
        Decimal("100.000000"),
        Decimal("99.992100"),
        Decimal("99.988800"),
        Decimal("98.838800"),
    ]
    assert [r.balance_before for r in rows] == [Decimal("0"), *[r.balance_after for r in rows[:-1]]]


def test_a_duplicate_idempotency_key_returns_the_first_posting_and_changes_nothing(sms_wallet):
    first = post(sms_wallet, Decimal("50.00"), "topup:1", kind="top_up")
    again = post(sms_wallet, Decimal("50.00"), "topup:1", kind="top_up")

    assert first.created is True
    assert again.created is False
    assert again.transaction.pk == first.transaction.pk
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("50.000000")
    assert WalletTransaction.objects.filter(wallet=sms_wallet).count() == 1


def test_the_same_key_on_another_wallet_is_a_separate_posting(sms_wallet):
    whatsapp = Wallet.objects.get(workspace=sms_wallet.workspace, kind=Wallet.Kind.WHATSAPP)
    post(sms_wallet, Decimal("5"), "same-key")
    post(whatsapp, Decimal("7"), "same-key")
    whatsapp.refresh_from_db()
    sms_wallet.refresh_from_db()
    assert (sms_wallet.balance, whatsapp.balance) == (Decimal("5"), Decimal("7"))


def test_reusing_a_key_for_a_different_amount_is_refused(sms_wallet):
    post(sms_wallet, Decimal("50.00"), "k")
    with pytest.raises(IdempotencyKeyReused):
        post(sms_wallet, Decimal("60.00"), "k")
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("50")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0.1, "must be a Decimal"),
        (Decimal("0"), "must not be zero"),
        (Decimal("0.0000001"), "more than 6 decimal places"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        ("10.00", "must be a Decimal"),
        (True, "must be a Decimal"),
        (Decimal("1e15"), "too large"),
    ],
)
def test_a_bad_amount_is_refused_with_a_clear_error_and_nothing_is_posted(sms_wallet, amount, message):
    with pytest.raises(InvalidAmount, match=message):
        post(sms_wallet, amount, "bad")
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("0")
    assert not WalletTransaction.objects.exists()


def test_a_non_usd_amount_is_refused(sms_wallet):
    with pytest.raises(UnsupportedCurrency, match="Only USD"):
        post(sms_wallet, Decimal("10"), "eur", currency="EUR")
    assert not WalletTransaction.objects.exists()


def test_an_unknown_kind_is_refused(sms_wallet):
    with pytest.raises(InvalidAmount, match="Unknown posting kind"):
        post(sms_wallet, Decimal("10"), "x", kind="gift")
    assert not WalletTransaction.objects.exists()


def test_require_funds_refuses_an_overdraft_but_allows_reaching_exactly_zero(sms_wallet):
    post(sms_wallet, Decimal("1.15"), "fund")
    with pytest.raises(InsufficientBalance):
        post(sms_wallet, Decimal("-1.150001"), "fee-too-big", kind="number_fee", require_funds=True)
    exact = post(sms_wallet, Decimal("-1.15"), "fee", kind="number_fee", require_funds=True)
    assert exact.balance_after == Decimal("0")


def test_usage_may_take_the_balance_below_zero(sms_wallet):
    result = post(sms_wallet, Decimal("-0.0079"), "in-flight", kind="message_charge")
    assert result.balance_after == Decimal("-0.007900")


def test_posting_committed_signal_fires_once_after_commit(sms_wallet, django_capture_on_commit_callbacks):
    from wallets.signals import posting_committed

    received = []

    def receiver(sender, postings, wallet_id, balance, **kwargs):
        received.append(([posting.idempotency_key for posting in postings], wallet_id, balance))

    posting_committed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(sms_wallet, Decimal("3"), "sig")
            post(sms_wallet, Decimal("3"), "sig")  # duplicate: no second signal
    finally:
        posting_committed.disconnect(receiver)
    assert received == [(["sig"], sms_wallet.id, Decimal("3"))]


def test_a_batch_is_announced_once_per_wallet_with_its_postings_and_the_last_balance(
    sms_wallet, django_capture_on_commit_callbacks
):
    from wallets.services import PostingRequest, ledger_post_many
    from wallets.signals import posting_committed

    received = []

    def receiver(sender, postings, wallet_id, balance, **kwargs):
        received.append(([(posting.idempotency_key, posting.balance_after) for posting in postings], balance))

    requests = [
        PostingRequest(kind="top_up", amount=Decimal("10"), idempotency_key="credit"),
        PostingRequest(kind="number_fee", amount=Decimal("-1.15"), idempotency_key="fee-1"),
        PostingRequest(kind="number_fee", amount=Decimal("-1.15"), idempotency_key="fee-2"),
    ]
    posting_committed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ledger_post_many(wallet_id=sms_wallet.id, requests=requests)
    finally:
        posting_committed.disconnect(receiver)
    assert received == [
        ([("credit", Decimal("10")), ("fee-1", Decimal("8.85")), ("fee-2", Decimal("7.70"))], Decimal("7.70"))
    ]
