"""Finance staff see refunds made at Stripe and disputes (payments.ChargeReversal)."""

from django.db import migrations

from finance.groups import FINANCE_LEDGER_PERMISSIONS, finance_group_ensure


def finance_group_update(apps, schema_editor):
    finance_group_ensure(apps=apps, permissions=FINANCE_LEDGER_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0002_finance_group"),
        ("payments", "0002_reversals_card_pause_failure_code"),
    ]

    operations = [migrations.RunPython(finance_group_update, migrations.RunPython.noop)]
