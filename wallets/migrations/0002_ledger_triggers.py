"""Database-level guards for the ledger, so that they hold even for writes that bypass the ORM.

- UPDATE and DELETE of a ledger row are refused (append-only). TRUNCATE is left
  alone: it is what test teardown uses, and no application path issues it.
- balance_after = balance_before + amount and usage total = cost + carrier fee (PostgreSQL).
- On INSERT (PostgreSQL), balance_before must equal the wallet's previous
  balance_after (or 0 for the first row): the chain cannot be broken.
"""

from django.db import migrations

PG_FORWARD = """
-- Exact decimal arithmetic checks; PostgreSQL only because SQLite (the demo)
-- stores decimals as binary floats and would compare them inexactly.
ALTER TABLE wallets_wallettransaction ADD CONSTRAINT ledger_balance_after_adds_up
    CHECK (balance_after = balance_before + amount);
ALTER TABLE usage_usagerecord ADD CONSTRAINT usage_total_adds_up
    CHECK (total = cost + carrier_fee);

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallet ledger rows are append-only: % refused on row %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE ON wallets_wallettransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_chain() RETURNS trigger AS $$
DECLARE
    previous numeric;
BEGIN
    SELECT balance_after INTO previous FROM wallets_wallettransaction
        WHERE wallet_id = NEW.wallet_id ORDER BY id DESC LIMIT 1;
    IF COALESCE(previous, 0) <> NEW.balance_before THEN
        RAISE EXCEPTION 'ledger chain broken for wallet %: previous balance_after %, new balance_before %',
            NEW.wallet_id, COALESCE(previous, 0), NEW.balance_before
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_chain
    BEFORE INSERT ON wallets_wallettransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_check_chain();
"""

PG_REVERSE = """
ALTER TABLE wallets_wallettransaction DROP CONSTRAINT IF EXISTS ledger_balance_after_adds_up;
ALTER TABLE usage_usagerecord DROP CONSTRAINT IF EXISTS usage_total_adds_up;
DROP TRIGGER IF EXISTS ledger_chain ON wallets_wallettransaction;
DROP FUNCTION IF EXISTS ledger_check_chain();
DROP TRIGGER IF EXISTS ledger_append_only ON wallets_wallettransaction;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON wallets_wallettransaction
       BEGIN SELECT RAISE(ABORT, 'wallet ledger rows are append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON wallets_wallettransaction
       BEGIN SELECT RAISE(ABORT, 'wallet ledger rows are append-only: DELETE refused'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS ledger_no_update;", "DROP TRIGGER IF EXISTS ledger_no_delete;"]


def forward(apps, schema_editor):
    statements = {"postgresql": [PG_FORWARD], "sqlite": SQLITE_FORWARD}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql, params=None)


def reverse(apps, schema_editor):
    statements = {"postgresql": [PG_REVERSE], "sqlite": SQLITE_REVERSE}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial"), ("usage", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
