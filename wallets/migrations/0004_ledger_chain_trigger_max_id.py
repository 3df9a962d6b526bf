"""The chain trigger finds the wallet's previous row with max(id), not ORDER BY id DESC LIMIT 1.

PL/pgSQL caches a generic plan for its queries. For ORDER BY id DESC LIMIT 1 the
generic plan may walk the primary key backwards and filter on wallet_id, which on
a 10M-row ledger took 1.8 s for a wallet whose rows are all old (measured for
issue 11 on a scratch 10M-row ledger); max(id) with wallet_id = $1 always uses the
(wallet_id, id DESC) index: 0.16 ms.
"""

from django.db import migrations

CHAIN_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_check_chain() RETURNS trigger AS $$
DECLARE
    previous numeric;
BEGIN
    SELECT balance_after INTO previous FROM wallets_wallettransaction
        WHERE {previous_row};
    IF COALESCE(previous, 0) <> NEW.balance_before THEN
        RAISE EXCEPTION 'ledger chain broken for wallet %: previous balance_after %, new balance_before %',
            NEW.wallet_id, COALESCE(previous, 0), NEW.balance_before
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
FORWARD = CHAIN_FUNCTION.format(
    previous_row="id = (SELECT max(id) FROM wallets_wallettransaction WHERE wallet_id = NEW.wallet_id)"
)
REVERSE = CHAIN_FUNCTION.format(previous_row="wallet_id = NEW.wallet_id ORDER BY id DESC LIMIT 1")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0003_ledger_wallet_created")]
    operations = [migrations.RunPython(forward, reverse)]
