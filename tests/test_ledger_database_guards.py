"""The database itself protects the ledger, even from raw SQL that bypasses the ORM."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from tests.factories import WorkspaceFactory, fund, wallet_of
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

DB_ERRORS = (IntegrityError, InternalError)


@pytest.fixture
def posted():
    wallet = wallet_of(WorkspaceFactory(), "sms")
    fund(wallet, "10.00", key="a")
    fund(wallet, "-2.50", key="b")
    return wallet


def test_the_database_refuses_a_raw_update_of_a_ledger_row(posted):
    row = WalletTransaction.objects.filter(wallet=posted).first()
    with pytest.raises(DB_ERRORS, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_wallettransaction SET amount = 1000 WHERE id = %s", [row.id])
    row.refresh_from_db()
    assert row.amount == Decimal("10.000000")


def test_the_database_refuses_a_raw_delete_of_a_ledger_row(posted):
    with pytest.raises(DB_ERRORS, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM wallets_wallettransaction WHERE wallet_id = %s", [posted.id])
    assert WalletTransaction.objects.filter(wallet=posted).count() == 2


def test_the_database_refuses_a_raw_insert_that_breaks_the_chain(posted):
    with pytest.raises(DB_ERRORS, match="chain broken"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO wallets_wallettransaction
               (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key, created_at)
               VALUES (%s, 'adjustment', 5, 0, 5, '', '', 'forged', now())""",
            [posted.id],
        )
    assert WalletTransaction.objects.filter(wallet=posted).count() == 2


def test_the_database_refuses_a_row_whose_balance_after_does_not_add_up(posted):
    with pytest.raises(IntegrityError, match="ledger_balance_after_adds_up"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO wallets_wallettransaction
                   (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key,
                    created_at)
                   VALUES (%s, 'adjustment', 5, 7.5, 99, '', '', 'forged', now())""",
                [posted.id],
            )


def test_the_database_refuses_a_duplicate_idempotency_key(posted):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO wallets_wallettransaction
               (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key, created_at)
               VALUES (%s, 'adjustment', 1, 7.5, 8.5, '', '', 'a', now())""",
            [posted.id],
        )
