"""Usage records lose the single-column indexes on workspace, wallet and channel.

Each was a prefix of another index: the unique (workspace_id, message_id) and the
(wallet_id, occurred_at) and (channel_id, occurred_at) indexes serve every lookup by
those columns, including the foreign keys' checks. Ingest pays for every index on every
row (10 indexes: 12 ms per 1,000 rows, 7: 7 ms, measured on PostgreSQL 15). The one on
workspace also let stale statistics plan ingest's duplicate check as a scan of the
whole workspace's records (30 ms at 3,000 records and growing) instead of 1,000
probes of the unique index.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('usage', '0003_api_keys'),
        ('wallets', '0004_ledger_chain_trigger_max_id'),
    ]

    operations = [
        migrations.AlterField(
            model_name='usagerecord',
            name='channel',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='usage.channel'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='wallet',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='wallets.wallet'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='workspace',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallets.workspace'),
        ),
    ]
