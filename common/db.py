"""Database helpers shared by the apps' reads."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def read_snapshot(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """The block's queries in one read-only transaction that sees one snapshot of the database.

    A read of several queries (a CSV of messages then ledger rows; cached balances then the
    ledger) is then of one moment, the one its first query ran at: a posting committed
    meanwhile is in none of its parts instead of in the later ones only. Behind a transaction
    pooler (PgBouncer) it also keeps one server connection for the whole read. Inside a
    caller's transaction (a test's) that transaction's snapshot rules, so no savepoint and no
    isolation level of its own. `using`: the database alias (a read replica's works too: a
    hot standby runs read-only repeatable-read transactions).
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using, savepoint=False):
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
