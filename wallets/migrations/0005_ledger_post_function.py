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

FUNCTION = """
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
    created_by_id integer, created boolean
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
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        SELECT * INTO found_row FROM wallets_wallettransaction t
            WHERE t.wallet_id = p_wallet_id AND t.idempotency_key = p_keys[i];
        existed := FOUND;
        IF existed AND (found_row.amount <> p_amounts[i] OR found_row.kind <> p_kinds[i]) THEN
            RAISE EXCEPTION 'Key % was used for % %, not % %.', quote_literal(p_keys[i]), found_row.kind,
                found_row.amount, p_kinds[i], p_amounts[i] USING ERRCODE = 'BL001';
        END IF;
        IF NOT existed THEN
            IF p_require_funds AND current_balance + p_amounts[i] < 0 THEN
                EXIT;
            END IF;
            INSERT INTO wallets_wallettransaction AS t
                (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key,
                 created_at, created_by_id)
            VALUES (p_wallet_id, p_kinds[i], p_amounts[i], current_balance, current_balance + p_amounts[i],
                    p_references[i], p_memos[i], p_keys[i], p_created_at, p_created_by[i])
            RETURNING t.* INTO found_row;
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

DROP = "DROP FUNCTION IF EXISTS ledger_post_many(bigint, text[], numeric[], text[], text[], text[], integer[], timestamptz, boolean)"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_ledger_chain_trigger_max_id")]
    operations = [migrations.RunPython(forward, reverse)]
