"""The Finance group, with exactly the permissions finance staff need (and no others)."""

from django.db import migrations

from finance.groups import FINANCE_GROUP, FINANCE_LEDGER_PERMISSIONS, finance_group_ensure


def finance_group_create(apps, schema_editor):
    finance_group_ensure(apps=apps, permissions=FINANCE_LEDGER_PERMISSIONS)


def finance_group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=FINANCE_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wallets", "0002_ledger_triggers"),
        ("usage", "0003_api_keys"),
        ("payments", "0001_topups_customers_events"),
        ("finance", "0001_audit_checks_refunds"),
    ]

    operations = [migrations.RunPython(finance_group_create, finance_group_delete)]
