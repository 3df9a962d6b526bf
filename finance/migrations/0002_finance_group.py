"""The Finance group, with exactly the permissions finance staff need (and no others)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE_PERMISSIONS = {
    "wallets": ["view_workspace", "view_wallet", "view_wallettransaction", "view_autotopuprule"],
    "usage": [
        "view_channel",
        "view_phonenumber",
        "view_usagerecord",
        "view_numberfeecharge",
        # Price lists: edited in the admin and imported (import needs add + change).
        *(f"{action}_{model}" for model in ("pricelist", "price", "carrierfee", "numberprice") for action in ("view", "add", "change")),
    ],
    "payments": ["view_topup", "view_stripecustomer", "view_stripeevent"],
    "finance": [
        "view_auditentry",
        "view_ledgercheck",
        "view_refund",
        "post_adjustment",
        "issue_refund",
        "view_finance_dashboard",
        "reconcile_payments",
    ],
}


def finance_group_create(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so the group can hold them.
    for app_label in FINANCE_PERMISSIONS:
        app_config = apps.get_app_config(app_label)
        # A migration's app config stub has no models module, which create_permissions skips.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Finance")
    permissions = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codenames in FINANCE_PERMISSIONS.items()
        for codename in codenames
    ]
    group.permissions.set(permissions)


def finance_group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Finance").delete()


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
