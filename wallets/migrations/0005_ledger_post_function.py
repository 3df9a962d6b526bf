"""`ledger_post_many(...)` in PL/pgSQL: a posting batch in one statement on PostgreSQL.

The wallet row lock is what serialises postings to one wallet, so its hold time
bounds a hot wallet's throughput. Done from Python, a posting held the lock across
four round trips (lock, duplicate check, INSERT, UPDATE) and the Python between
them. This function does the same steps in one call, so the lock is held for one
statement and the COMMIT. wallets.services.ledger_post_many is its only caller.
The SQL is in sql/ledger_post_many_1.sql and sql/ledger_check_chain_3.sql.

It returns one row per request, in order, until the first request the balance does
not cover (with p_require_funds); `created` is false for a key already posted, and
the row is then that first posting. A key already used for another amount or kind
raises SQLSTATE BL001 (IdempotencyKeyReused in Python); a missing wallet, P0002.
Every row also carries the wallet's enabled auto top-up threshold (NULL without
one), so the payments receiver needs no query of its own.

Plans that stay right on a hot wallet whose rows the statistics have not seen yet
(measured for issue 9: 16 writers slowed from 2,300 to 270 postings/s as one wallet
grew, because both lookups below scanned every row of the wallet):
- a new posting is inserted with ON CONFLICT on the (wallet, key) unique index, so
  the usual path never looks a key up; only a repeated key (or one the balance does
  not cover under p_require_funds) reads the earlier posting;
- the chain trigger finds the previous row through ledger_chain_tip, an index on
  (-wallet_id, -id): the lookup names the wallet and the order by those expressions,
  which no other index has, so no plan can walk the wallet's rows (or the primary
  key) for it however wrong the row estimates are. (With `wallet_id = ... ORDER BY
  -id`, an estimate of one row per wallet made PostgreSQL sort all 11,000 rows of
  the hot wallet through the plain wallet_id index: 2 ms a posting.)
"""

from pathlib import Path

from django.db import migrations


def _sql(name: str) -> str:
    return (Path(__file__).parent / "sql" / name).read_text()

CHAIN_TIP_INDEX = (
    "CREATE INDEX IF NOT EXISTS ledger_chain_tip ON wallets_wallettransaction ((-wallet_id), (-id)) INCLUDE (balance_after)"
)
DROP_POST_FUNCTION = (
    "DROP FUNCTION IF EXISTS ledger_post_many"
    "(bigint, text[], numeric[], text[], text[], text[], integer[], timestamptz, boolean)"
)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_ledger_chain_trigger_max_id")]
    operations = [
        migrations.RunSQL(
            sql=[CHAIN_TIP_INDEX, _sql("ledger_check_chain_3.sql"), _sql("ledger_post_many_1.sql")],
            reverse_sql=[DROP_POST_FUNCTION, _sql("ledger_check_chain_2.sql"), "DROP INDEX IF EXISTS ledger_chain_tip"],
        )
    ]
