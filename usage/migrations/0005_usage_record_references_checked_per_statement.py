"""Usage records' six references, checked once per statement instead of once per row.

Django's foreign keys checked each of the six references of each inserted record at
commit: 6,000 lookups for a batch of 1,000, which was 60% of an ingest batch and most of
the time it holds the wallet locks (issue 9). The keys go (db_constraint=False) and two
kinds of trigger keep the same guarantees on PostgreSQL:

- After each INSERT or UPDATE statement on usage_usagerecord, the distinct ids of each
  reference among the statement's rows are looked up and locked FOR KEY SHARE, as a
  foreign key check locks them, so a parent cannot be deleted before the commit. A
  missing parent raises foreign_key_violation (SQLSTATE 23503) naming the column.
- Before a parent row is deleted, the trigger refuses if any record refers to it, as
  ON DELETE PROTECT / NO ACTION did. Each lookup uses an index leading with the column.
  Ledger rows are never deleted (migration wallets/0002), so they need no such trigger.

The SQL is in sql/usage_records_check_references_1.sql and sql/0005_usage_record_references.sql
(and .reverse.sql);
tests/test_usage_record_references.py checks that it guards exactly the model's
unconstrained foreign keys, and covers inserts, updates and deletes.
"""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models


def _sql(name: str) -> str:
    return (Path(__file__).parent / "sql" / name).read_text()


class Migration(migrations.Migration):

    dependencies = [
        ('usage', '0004_usage_records_without_redundant_indexes'),
        ('wallets', '0006_wallet_fillfactor'),
    ]

    operations = [
        migrations.AlterField(
            model_name='usagerecord',
            name='carrier_posting',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='carrier_usage_records', to='wallets.wallettransaction'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='channel',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='usage.channel'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='phone_number',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='usage.phonenumber'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='posting',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='wallets.wallettransaction'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='wallet',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='wallets.wallet'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='workspace',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallets.workspace'),
        ),
        migrations.RunSQL(
            sql=[_sql("usage_records_check_references_1.sql"), _sql("0005_usage_record_references.sql")], reverse_sql=_sql("0005_usage_record_references.reverse.sql")
        ),
    ]
