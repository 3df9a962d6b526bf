"""The Finance group and exactly the permissions finance staff need."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions

FINANCE_GROUP = "Finance"
# What the 0002 migration granted: ledger, usage, payments and finance screens.
FINANCE_LEDGER_PERMISSIONS = {
    "wallets": ["view_workspace", "view_wallet", "view_wallettransaction", "view_autotopuprule"],
    "usage": [
        "view_channel",
        "view_phonenumber",
        "view_usagerecord",
        "view_numberfeecharge",
        "view_whatsappvolume",
        # Price lists: edited in the admin and imported (import needs add + change).
        *(
            f"{action}_{model}"
            for model in ("pricelist", "price", "carrierfee", "numberprice")
            for action in ("view", "add", "change")
        ),
    ],
    "payments": ["view_topup", "view_stripecustomer", "view_stripeevent", "view_chargereversal"],
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
# The admin index warns when a periodic task is late and links to these lists (migration 0003).
FINANCE_BEAT_HEALTH_PERMISSIONS = {
    "ops": ["view_beattaskrun"],
    "django_celery_beat": ["view_periodictask", "view_crontabschedule", "view_intervalschedule"],
}
FINANCE_PERMISSIONS = {**FINANCE_LEDGER_PERMISSIONS, **FINANCE_BEAT_HEALTH_PERMISSIONS}


def finance_group_ensure(*, apps: Apps, permissions: dict[str, list[str]] = FINANCE_PERMISSIONS) -> None:
    """Create the group (if missing) and set its permissions. `apps` is the migration's
    historical registry there, the live one elsewhere (e.g. tests after a flush)."""
    for app_label in permissions:
        app_config = apps.get_app_config(app_label)
        # Permissions are normally created after all migrations have run; create them now.
        # A migration's app config stub has no models module, which create_permissions would skip.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    # A migration's historical registry may not hold every model yet (a later migration adds
    # it, and runs this again): the permissions that exist by then are the ones set.
    group.permissions.set(
        [
            permission
            for app_label, codenames in permissions.items()
            for permission in Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        ]
    )
