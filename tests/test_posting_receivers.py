"""The posting_committed receivers get one signal per wallet per commit, with its postings:
each decides once for the batch, on the balance after its last posting."""

from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phone_numbers.tasks import settle_number_fees
from tests.factories import WorkspaceFactory, fund, wallet_of
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


def test_the_auto_top_up_decision_makes_no_query_of_its_own(queued_top_ups, django_capture_on_commit_callbacks):
    below, above, disabled = _wallet_with_rule("9"), _wallet_with_rule("5"), _wallet_with_rule("100")
    AutoTopUpRule.objects.filter(wallet=disabled).update(enabled=False)
    without_rule = wallet_of(WorkspaceFactory(), Wallet.Kind.SMS)
    fund(without_rule, "10", key="opening")

    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
        for wallet in (below, above, disabled, without_rule):
            _post(wallet, "-1.15")

    assert queued_top_ups == [below.id]
    # One statement per posting batch (the PL/pgSQL ledger_post_many reads the rule itself),
    # inside a savepoint here because the test runs in a transaction.
    assert sum(query["sql"].startswith("SELECT * FROM ledger_post_many") for query in queries.captured_queries) == 4
    assert all("SAVEPOINT" in query["sql"] or "ledger_post_many" in query["sql"] for query in queries.captured_queries)
    assert not any('"wallets_autotopuprule"' in query["sql"] for query in queries.captured_queries)


def test_a_rule_enabled_between_postings_is_seen_by_the_next_posting(
    queued_top_ups, django_capture_on_commit_callbacks
):
    wallet = _wallet_with_rule("9")
    AutoTopUpRule.objects.filter(wallet=wallet).update(enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        _post(wallet, "-2")
    assert queued_top_ups == []

    AutoTopUpRule.objects.filter(wallet=wallet).update(enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        _post(wallet, "-0.01")
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
