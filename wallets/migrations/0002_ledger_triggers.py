"""Database-level guards for the ledger, so that they hold even for writes that bypass the ORM.

- UPDATE and DELETE of a ledger row are refused (append-only). TRUNCATE is left
  alone: it is what test teardown uses, and no application path issues it.
- balance_after = balance_before + amount and usage total = cost + carrier fee.
- On INSERT, balance_before must equal the wallet's previous
  balance_after (or 0 for the first row): the chain cannot be broken.

The SQL is in sql/0002_ledger_triggers.sql and sql/ledger_check_chain_1.sql.
"""

from pathlib import Path

from django.db import migrations


def _sql(name: str) -> str:
    return (Path(__file__).parent / "sql" / name).read_text()

REVERSE = """
ALTER TABLE wallets_wallettransaction DROP CONSTRAINT IF EXISTS ledger_balance_after_adds_up;
ALTER TABLE usage_usagerecord DROP CONSTRAINT IF EXISTS usage_total_adds_up;
DROP TRIGGER IF EXISTS ledger_chain ON wallets_wallettransaction;
DROP FUNCTION IF EXISTS ledger_check_chain();
DROP TRIGGER IF EXISTS ledger_append_only ON wallets_wallettransaction;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial"), ("usage", "0001_initial")]
    operations = [
        migrations.RunSQL(sql=[_sql("ledger_check_chain_1.sql"), _sql("0002_ledger_triggers.sql")], reverse_sql=REVERSE)
    ]
