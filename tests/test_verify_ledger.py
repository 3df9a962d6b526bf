import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import WorkspaceFactory, fund, wallet_of

pytestmark = pytest.mark.django_db


def test_verify_ledger_passes_on_a_consistent_ledger(capsys):
    wallet = wallet_of(WorkspaceFactory(), "sms")
    fund(wallet, "10.00", key="a")
    fund(wallet, "-0.000001", key="b")

    call_command("verify_ledger")

    out = capsys.readouterr().out
    assert "Ledger OK" in out
    assert "2 ledger rows checked, 0 problem(s)" in out


def test_verify_ledger_detects_a_tampered_cached_balance_and_exits_non_zero(capsys):
    wallet = wallet_of(WorkspaceFactory(), "sms")
    fund(wallet, "10.00", key="a")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_wallet SET balance = balance + 0.01 WHERE id = %s", [wallet.id])

    with pytest.raises(CommandError, match="FAILED"):
        call_command("verify_ledger")

    err = capsys.readouterr().err
    assert f"wallet {wallet.id}: cached balance 10.010000 != ledger sum 10.000000" in err


def test_verify_ledger_detects_a_broken_chain_written_with_the_trigger_disabled(capsys):
    """Even if someone disables the trigger, the command still finds the break."""
    wallet = wallet_of(WorkspaceFactory(), "sms")
    fund(wallet, "10.00", key="a")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred FK checks
        cursor.execute("ALTER TABLE wallets_wallettransaction DISABLE TRIGGER ledger_chain")
        cursor.execute(
            """INSERT INTO wallets_wallettransaction
               (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key, created_at)
               VALUES (%s, 'adjustment', 5, 0, 5, '', '', 'forged', now())""",
            [wallet.id],
        )
        cursor.execute("ALTER TABLE wallets_wallettransaction ENABLE TRIGGER ledger_chain")
        cursor.execute("UPDATE wallets_wallet SET balance = 15 WHERE id = %s", [wallet.id])

    with pytest.raises(CommandError):
        call_command("verify_ledger")

    err = capsys.readouterr().err
    assert "starts at 0.000000, previous row ended at 10.000000" in err
    assert Decimal("15") == wallet_of(wallet.workspace, "sms").balance


@pytest.mark.django_db(transaction=True)
def test_a_posting_committed_while_the_check_reads_is_not_a_false_alarm(monkeypatch):
    """The daily check runs while wallets are charged: here a posting commits on another
    connection after the cached balances are read and before the ledger is."""
    from wallets import selectors
    from wallets.models import WalletTransaction

    wallet = wallet_of(WorkspaceFactory(), "sms")
    fund(wallet, "10.00", key="a")

    def post_elsewhere() -> None:
        try:
            fund(wallet, "2.50", key="mid-check")
        finally:
            connection.close()

    class LedgerAfterAPosting:
        class objects:
            @staticmethod
            def order_by(*fields):
                poster = threading.Thread(target=post_elsewhere)
                poster.start()
                poster.join()
                return WalletTransaction.objects.order_by(*fields)

    monkeypatch.setattr(selectors, "WalletTransaction", LedgerAfterAPosting)
    report = selectors.ledger_verify()

    assert WalletTransaction.objects.filter(idempotency_key="mid-check").exists()
    assert report.problems == []
    assert report.transactions_checked == 1  # the moment the check began: before the posting
