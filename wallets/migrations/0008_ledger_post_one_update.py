"""`ledger_post_many` version 2: the wallet row is locked and updated by one statement.

Postings to one wallet queue on its row lock, so what a posting does while holding it
bounds a hot wallet's throughput (bench/cases.py hot_wallet). Version 1
(sql/ledger_post_many_1.sql) held it for a SELECT ... FOR UPDATE, the auto top-up
threshold read, the inserts and a second UPDATE of the row. Version 2
(sql/ledger_post_many_2.sql):
- reads the threshold before taking the lock;
- takes the lock with the UPDATE that sets the balance the batch leads to when every
  request posts (the usual case), RETURNING the balance before it, so the row is
  locked and written once; a repeated key or a request the balance does not cover
  corrects it with a second UPDATE under the same lock, as version 1 always did;
- also returns the wallet's kind and workspace (read by that UPDATE) and its alert
  rules (read before the lock), so that the receivers of posting_committed make no
  query of their own: the alerts receiver's read of the wallet and its rules cost a
  hot wallet's writers more than the posting itself (measured for issue 20).
The chain trigger still checks every inserted row against the previous one.
"""

from pathlib import Path

from django.db import migrations


def _sql(name: str) -> str:
    return (Path(__file__).parent / "sql" / name).read_text()


# The return type changes, which CREATE OR REPLACE cannot do: each direction drops first.
DROP_POST_FUNCTION = (
    "DROP FUNCTION IF EXISTS ledger_post_many"
    "(bigint, text[], numeric[], text[], text[], text[], integer[], timestamptz, boolean)"
)


class Migration(migrations.Migration):
    # The function reads alerts_alertrule (alerts 0001 depends on wallets 0006 only).
    dependencies = [("wallets", "0007_dispute_kind_monthly_cap"), ("alerts", "0001_initial")]
    operations = [
        migrations.RunSQL(
            sql=[DROP_POST_FUNCTION, _sql("ledger_post_many_2.sql")],
            reverse_sql=[DROP_POST_FUNCTION, _sql("ledger_post_many_1.sql")],
        )
    ]
