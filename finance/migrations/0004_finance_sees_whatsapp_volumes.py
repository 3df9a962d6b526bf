"""Finance staff read the monthly WhatsApp volumes that picked each message's tier."""

from django.db import migrations

from finance.groups import FINANCE_LEDGER_PERMISSIONS, finance_group_ensure


def finance_group_update(apps, schema_editor):
    finance_group_ensure(apps=apps, permissions=FINANCE_LEDGER_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0003_finance_sees_charge_reversals"),
        ("usage", "0006_whatsapp_per_message_pricing"),
    ]

    # Reversing leaves the group as it is: the extra view permission grants nothing to write.
    operations = [migrations.RunPython(finance_group_update, migrations.RunPython.noop)]
