"""The chain trigger finds the wallet's previous row with max(id), not ORDER BY id DESC LIMIT 1.

PL/pgSQL caches a generic plan for its queries. For ORDER BY id DESC LIMIT 1 the
generic plan may walk the primary key backwards and filter on wallet_id, which on
a 10M-row ledger took 1.8 s for a wallet whose rows are all old (measured for
issue 11 on a scratch 10M-row ledger); max(id) with wallet_id = $1 always uses the
(wallet_id, id DESC) index: 0.16 ms.
"""

from pathlib import Path

from django.db import migrations


def _sql(name: str) -> str:
    return (Path(__file__).parent / "sql" / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("wallets", "0003_ledger_wallet_created")]
    operations = [
        migrations.RunSQL(sql=_sql("ledger_check_chain_2.sql"), reverse_sql=_sql("ledger_check_chain_1.sql"))
    ]
