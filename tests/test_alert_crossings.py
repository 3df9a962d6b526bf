"""Balance alerts fire once per real crossing of a line, decided from each ledger row's
balance before and after, whatever the concurrency (alerts.services.posting_drafts)."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from alerts.models import AlertRule, Event
from alerts.services import posting_events_record
from tests.factories import WorkspaceFactory, fund, wallet_of
from wallets.models import WalletTransaction
from wallets.services import PostingRequest, ledger_post, ledger_post_many


def types(workspace) -> list[str]:
    return list(Event.objects.filter(workspace=workspace).order_by("id").values_list("type", flat=True))


def charge(wallet, amount: str, key: str) -> None:
    ledger_post(wallet_id=wallet.id, kind="message_charge", amount=-Decimal(amount), idempotency_key=key)


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_postings_crossing_one_threshold_record_exactly_one_wallet_low():
    workspace = WorkspaceFactory()
    wallet = wallet_of(workspace, "sms")  # default alert at US$10
    fund(wallet, "18", key="opening")

    def spend(n: int) -> None:
        try:
            charge(wallet, "1", f"msg-{n}")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(spend, range(16)))

    wallet.refresh_from_db()
    assert wallet.balance == Decimal("2")
    lows = Event.objects.filter(workspace=workspace, type="wallet.low")
    assert lows.count() == 1
    low = lows.get()
    crossing = WalletTransaction.objects.get(pk=low.data["ledger_transaction_id"])
    assert (crossing.balance_before, crossing.balance_after) == (Decimal("10"), Decimal("9"))
    assert low.data == {
        "wallet": "sms",
        "balance": "9.000000",
        "threshold": "10.000000",
        "rule_id": AlertRule.objects.get(wallet=wallet).id,
        "ledger_transaction_id": crossing.id,
    }
    assert types(workspace) == ["wallet.low"]


@pytest.mark.django_db(transaction=True)
def test_a_credit_back_over_the_line_records_one_wallet_recovered_and_the_top_up():
    workspace = WorkspaceFactory()
    wallet = wallet_of(workspace, "whatsapp")  # default alert at US$20
    fund(wallet, "25", key="opening")
    charge(wallet, "10", "m1")
    ledger_post(wallet_id=wallet.id, kind="top_up", amount=Decimal("50"), idempotency_key="checkout:cs_1")

    assert types(workspace) == ["wallet.low", "top_up.succeeded", "wallet.recovered"]
    recovered = Event.objects.get(workspace=workspace, type="wallet.recovered")
    assert (recovered.data["balance"], recovered.data["threshold"]) == ("65.000000", "20.000000")
    top_up = Event.objects.get(workspace=workspace, type="top_up.succeeded")
    assert (top_up.data["amount"], top_up.data["top_up"]) == ("50.000000", "top_up")


@pytest.mark.django_db(transaction=True)
def test_a_balance_oscillating_around_the_line_alerts_once_per_real_crossing():
    workspace = WorkspaceFactory()
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "10.50", key="opening")
    # 10.50 -> 9.50 (cross down) -> 9.00 -> 10.00 (back: at the line counts as recovered)
    # -> 10.40 -> 9.99 (down) -> 9.50; then a batch: 10.50 (up), 9.50 (down) in one commit.
    for n, amount in enumerate(["-1", "-0.50", "1", "0.40", "-0.41", "-0.49"]):
        ledger_post(wallet_id=wallet.id, kind="adjustment", amount=Decimal(amount), idempotency_key=f"o{n}", memo="x")
    ledger_post_many(
        wallet_id=wallet.id,
        requests=[
            PostingRequest("adjustment", Decimal("1"), "b1", memo="x"),
            PostingRequest("adjustment", Decimal("-1"), "b2", memo="x"),
        ],
    )

    assert types(workspace) == ["wallet.low", "wallet.recovered", "wallet.low", "wallet.recovered", "wallet.low"]


@pytest.mark.django_db(transaction=True)
def test_the_same_postings_announced_twice_record_their_events_once():
    workspace = WorkspaceFactory()
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "12", key="opening")
    charge(wallet, "12", "m1")
    postings = list(WalletTransaction.objects.filter(wallet=wallet, idempotency_key="m1"))

    again = posting_events_record(wallet_id=wallet.id, postings=postings)

    assert again == []
    assert types(workspace) == ["wallet.low", "wallet.suspended"]


@pytest.mark.django_db(transaction=True)
def test_sms_at_zero_is_suspended_whatsapp_below_zero_is_paused_and_a_top_up_resumes_both():
    """US$20 lifts SMS over its US$10 line, which it never fell below: no wallet.recovered."""
    workspace = WorkspaceFactory()
    sms, whatsapp = wallet_of(workspace, "sms"), wallet_of(workspace, "whatsapp")
    fund(sms, "5", key="s0")
    fund(whatsapp, "5", key="w0")
    charge(sms, "5", "s1")  # exactly zero: SMS stops
    charge(whatsapp, "5", "w1")  # exactly zero: WhatsApp still sends
    charge(whatsapp, "0.01", "w2")  # below zero: paused
    ledger_post(wallet_id=sms.id, kind="top_up", amount=Decimal("20"), idempotency_key="s2")
    ledger_post(wallet_id=whatsapp.id, kind="auto_top_up", amount=Decimal("20"), idempotency_key="w3")

    events = [(e.type, e.data["wallet"]) for e in Event.objects.filter(workspace=workspace).order_by("id")]
    assert events == [
        ("wallet.suspended", "sms"),
        ("wallet.paused", "whatsapp"),
        ("top_up.succeeded", "sms"),
        ("wallet.resumed", "sms"),
        ("top_up.succeeded", "whatsapp"),
        ("wallet.resumed", "whatsapp"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_wallet_with_two_lines_crossed_by_one_charge_alerts_for_each_highest_first():
    workspace = WorkspaceFactory()
    wallet = wallet_of(workspace, "whatsapp")
    AlertRule.objects.create(wallet=wallet, threshold=Decimal("50"))
    fund(wallet, "60", key="opening")
    charge(wallet, "45", "m1")

    lows = Event.objects.filter(workspace=workspace, type="wallet.low").order_by("id")
    assert [e.data["threshold"] for e in lows] == ["50.000000", "20.000000"]


@pytest.mark.django_db(transaction=True)
def test_a_new_wallets_first_top_up_recovers_and_resumes_nothing():
    workspace = WorkspaceFactory()
    ledger_post(wallet_id=wallet_of(workspace, "sms").id, kind="top_up", amount=Decimal("50"), idempotency_key="c1")

    assert types(workspace) == ["top_up.succeeded"]
