"""The posting_committed receivers get one signal per wallet per commit, with its postings:
each decides once for the batch, on the balance after its last posting."""

from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.services import auto_top_up_checks_batched
from tests.factories import WorkspaceFactory, fund, wallet_of
from usage.tasks import settle_number_fees
from wallets.models import AutoTopUpRule, Wallet
from wallets.services import PostingRequest, ledger_post_many

pytestmark = pytest.mark.django_db

KEYS = count()


@pytest.fixture
def queued_top_ups(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr("payments.services.auto_top_up_queue", lambda *, wallet_id: queued.append(wallet_id))
    return queued


@pytest.fixture
def queued_settles(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr(settle_number_fees, "delay", queued.append)
    return queued


def _wallet_with_rule(threshold: str, *, opening: str = "10", kind: str = Wallet.Kind.SMS) -> Wallet:
    wallet = wallet_of(WorkspaceFactory(), kind)
    fund(wallet, opening, key=f"opening:{wallet.id}")
    AutoTopUpRule.objects.create(wallet=wallet, enabled=True, threshold=Decimal(threshold), amount=Decimal("20"))
    return wallet


def _post(wallet: Wallet, *amounts: str) -> None:
    """One ledger_post_many: negative amounts are number fees, positive ones top-ups."""
    requests = [
        PostingRequest(
            kind="number_fee" if Decimal(amount) < 0 else "top_up",
            amount=Decimal(amount),
            idempotency_key=f"receivers:{next(KEYS)}",
        )
        for amount in amounts
    ]
    ledger_post_many(wallet_id=wallet.id, requests=requests)


def test_charges_that_end_below_the_threshold_queue_one_auto_top_up_for_the_batch(
    queued_top_ups, django_capture_on_commit_callbacks
):
    wallet = _wallet_with_rule("8")

    with django_capture_on_commit_callbacks(execute=True):
        _post(wallet, "-1.15", "-1.15", "-1.15")  # 8.85, 7.70, 6.55: below from the second on

    assert queued_top_ups == [wallet.id]


def test_a_charge_then_a_credit_above_the_threshold_in_one_batch_queues_no_auto_top_up(
    queued_top_ups, django_capture_on_commit_callbacks
):
    wallet = _wallet_with_rule("8")

    with django_capture_on_commit_callbacks(execute=True):
        _post(wallet, "-5", "20")  # 5.00 for a moment, 25.00 when it commits

    assert queued_top_ups == []


def test_credits_alone_are_not_checked_against_the_rule(queued_top_ups, django_capture_on_commit_callbacks):
    wallet = _wallet_with_rule("1000")

    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
        _post(wallet, "20", "30")

    assert queued_top_ups == []
    assert not any('"wallets_autotopuprule"' in query["sql"] for query in queries.captured_queries)


def test_batched_checks_decide_for_many_wallets_in_one_query_at_the_end_of_the_block(
    queued_top_ups, django_capture_on_commit_callbacks
):
    below, above, disabled = _wallet_with_rule("9"), _wallet_with_rule("5"), _wallet_with_rule("100")
    AutoTopUpRule.objects.filter(wallet=disabled).update(enabled=False)
    without_rule = wallet_of(WorkspaceFactory(), Wallet.Kind.SMS)

    with CaptureQueriesContext(connection) as queries, auto_top_up_checks_batched():
        with django_capture_on_commit_callbacks(execute=True):
            for wallet in (below, above, disabled, without_rule):
                _post(wallet, "-1.15")
        assert queued_top_ups == []  # not yet: decided when the block ends

    assert queued_top_ups == [below.id]
    assert sum('"wallets_autotopuprule"' in query["sql"] for query in queries.captured_queries) == 1


def test_batched_checks_still_decide_for_what_committed_before_the_block_failed(
    queued_top_ups, django_capture_on_commit_callbacks
):
    wallet = _wallet_with_rule("9")

    with pytest.raises(RuntimeError), auto_top_up_checks_batched():
        with django_capture_on_commit_callbacks(execute=True):
            _post(wallet, "-1.15")
        raise RuntimeError("the rest of the run failed")

    assert queued_top_ups == [wallet.id]


def test_two_credits_in_one_batch_queue_one_settle_of_the_sms_wallet_and_none_for_whatsapp(
    queued_settles, django_capture_on_commit_callbacks
):
    workspace = WorkspaceFactory()
    sms, whatsapp = wallet_of(workspace, Wallet.Kind.SMS), wallet_of(workspace, Wallet.Kind.WHATSAPP)

    with django_capture_on_commit_callbacks(execute=True):
        _post(sms, "20", "-1.15", "30")
        _post(whatsapp, "20", "30")
        _post(sms, "-1.15")  # charges only: nothing to settle

    assert queued_settles == [sms.id]
