"""`ledger_post_many` also returns the wallet's enabled auto top-up threshold.

Read in the posting's own statement, so the payments receiver decides whether a
charge calls for an auto top-up without a query of its own: on a hot wallet that
query was half the CPU of a posting (measured for issue 9). The column is NULL when
the wallet has no enabled rule, and the same on every row of the call.
"""

from django.db import migrations

from wallets.migrations import _ledger_post_sql as sql


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql.DROP, params=None)
        schema_editor.execute(sql.WITH_THRESHOLD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql.DROP, params=None)
        schema_editor.execute(sql.FIRST, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0005_ledger_post_function")]
    operations = [migrations.RunPython(forward, reverse)]
