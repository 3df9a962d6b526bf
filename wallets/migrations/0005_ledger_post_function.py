"""`ledger_post_many(...)` in PL/pgSQL: a posting batch in one statement on PostgreSQL.

The wallet row lock is what serialises postings to one wallet, so its hold time
bounds a hot wallet's throughput. Done from Python, a posting held the lock across
four round trips (lock, duplicate check, INSERT, UPDATE) and the Python between
them. This function does the same steps in one call, so the lock is held for one
statement and the COMMIT. wallets.services.ledger_post_many calls it on PostgreSQL
and keeps the ORM steps for SQLite (the demo); tests/test_ledger_post_sql.py checks
that both give the same rows.

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

from importlib import import_module

from django.db import migrations

POST_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_post_many(
    p_wallet_id bigint,
    p_kinds text[],
    p_amounts numeric[],
    p_keys text[],
    p_references text[],
    p_memos text[],
    p_created_by integer[],
    p_created_at timestamptz,
    p_require_funds boolean
) RETURNS TABLE (
    id bigint, kind varchar, amount numeric, balance_before numeric, balance_after numeric,
    reference varchar, memo text, idempotency_key varchar, created_at timestamptz,
    created_by_id integer, created boolean, auto_top_up_threshold numeric
) AS $$
DECLARE
    current_balance numeric;
    start_balance numeric;
    found_row wallets_wallettransaction%ROWTYPE;
    existed boolean;
    i integer;
BEGIN
    SELECT w.balance INTO current_balance FROM wallets_wallet w WHERE w.id = p_wallet_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wallet % does not exist', p_wallet_id USING ERRCODE = 'no_data_found';
    END IF;
    start_balance := current_balance;
    SELECT r.threshold INTO auto_top_up_threshold FROM wallets_autotopuprule r
        WHERE r.wallet_id = p_wallet_id AND r.enabled;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        existed := true;
        IF NOT (p_require_funds AND current_balance + p_amounts[i] < 0) THEN
            INSERT INTO wallets_wallettransaction AS t
                (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key,
                 created_at, created_by_id)
            VALUES (p_wallet_id, p_kinds[i], p_amounts[i], current_balance, current_balance + p_amounts[i],
                    p_references[i], p_memos[i], p_keys[i], p_created_at, p_created_by[i])
            ON CONFLICT ON CONSTRAINT ledger_unique_idempotency_key DO NOTHING
            RETURNING t.* INTO found_row;
            existed := NOT FOUND;
        END IF;
        IF existed THEN
            SELECT * INTO found_row FROM wallets_wallettransaction t
                WHERE t.wallet_id = p_wallet_id AND t.idempotency_key = p_keys[i];
            IF NOT FOUND THEN
                EXIT;  -- not posted before, and the balance does not cover it
            END IF;
            IF found_row.amount <> p_amounts[i] OR found_row.kind <> p_kinds[i] THEN
                RAISE EXCEPTION 'Key % was used for % %, not % %.', quote_literal(p_keys[i]), found_row.kind,
                    found_row.amount, p_kinds[i], p_amounts[i] USING ERRCODE = 'BL001';
            END IF;
        ELSE
            current_balance := found_row.balance_after;
        END IF;
        id := found_row.id; kind := found_row.kind; amount := found_row.amount;
        balance_before := found_row.balance_before; balance_after := found_row.balance_after;
        reference := found_row.reference; memo := found_row.memo; idempotency_key := found_row.idempotency_key;
        created_at := found_row.created_at; created_by_id := found_row.created_by_id;
        created := NOT existed;
        RETURN NEXT;
    END LOOP;
    IF current_balance <> start_balance THEN
        UPDATE wallets_wallet w SET balance = current_balance WHERE w.id = p_wallet_id;
    END IF;
END;
$$ LANGUAGE plpgsql;
"""
DROP_POST_FUNCTION = (
    "DROP FUNCTION IF EXISTS ledger_post_many"
    "(bigint, text[], numeric[], text[], text[], text[], integer[], timestamptz, boolean)"
)

CHAIN_TIP_INDEX = (
    "CREATE INDEX IF NOT EXISTS ledger_chain_tip ON wallets_wallettransaction "
    "((-wallet_id), (-id)) INCLUDE (balance_after)"
)
# The chain trigger as migration 0004 writes it, with another way to the previous row.
CHAIN_FUNCTION = import_module("wallets.migrations.0004_ledger_chain_trigger_max_id").CHAIN_FUNCTION
# Migration 0004's lookup, restored on the way back.
CHAIN_BY_MAX_ID = "id = (SELECT max(id) FROM wallets_wallettransaction WHERE wallet_id = NEW.wallet_id)"
CHAIN_BY_TIP = "-wallet_id = -NEW.wallet_id ORDER BY -wallet_id, -id LIMIT 1"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHAIN_TIP_INDEX, params=None)
        schema_editor.execute(CHAIN_FUNCTION.format(previous_row=CHAIN_BY_TIP), params=None)
        schema_editor.execute(POST_FUNCTION, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_POST_FUNCTION, params=None)
        schema_editor.execute(CHAIN_FUNCTION.format(previous_row=CHAIN_BY_MAX_ID), params=None)
        schema_editor.execute("DROP INDEX IF EXISTS ledger_chain_tip", params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_ledger_chain_trigger_max_id")]
    operations = [migrations.RunPython(forward, reverse)]
