"""Existing wallets get their kind's default alert threshold, as new wallets do."""

from django.db import migrations

from alerts.defaults import DEFAULT_THRESHOLDS


def default_rules(apps, schema_editor):
    Wallet = apps.get_model("wallets", "Wallet")
    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertRule.objects.bulk_create(
        [
            AlertRule(wallet_id=wallet_id, threshold=DEFAULT_THRESHOLDS[kind])
            for wallet_id, kind in Wallet.objects.values_list("id", "kind")
            if kind in DEFAULT_THRESHOLDS
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(default_rules, migrations.RunPython.noop)]
