"""`ledger_post_many(...)` in PL/pgSQL: a posting batch in one statement on PostgreSQL.

The wallet row lock is what serialises postings to one wallet, so its hold time
bounds a hot wallet's throughput. Done from Python, a posting holds the lock across
four round trips (lock, duplicate check, INSERT, UPDATE) and the Python between
them. This function does the same steps in one call, so the lock is held for one
statement and the COMMIT. wallets.services.ledger_post_many calls it on PostgreSQL
and keeps the ORM steps for SQLite (the demo); tests/test_ledger_post_sql.py checks
that both give the same rows.

It returns one row per request, in order, until the first request the balance does
not cover (with p_require_funds); `created` is false for a key already posted, and
the row is then that first posting. A key already used for another amount or kind
raises SQLSTATE BL001 (IdempotencyKeyReused in Python); a missing wallet, P0002.
"""

from django.db import migrations

from wallets.migrations import _ledger_post_sql as sql


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql.FIRST, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql.DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_ledger_chain_trigger_max_id")]
    operations = [migrations.RunPython(forward, reverse)]
