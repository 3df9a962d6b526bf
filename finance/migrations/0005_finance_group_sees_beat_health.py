"""Finance staff follow the admin index's late-task warning to the task lists: grant their view."""

from django.db import migrations

from finance.groups import finance_group_ensure


def finance_group_update(apps, schema_editor):
    finance_group_ensure(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0004_finance_sees_whatsapp_volumes"),
        ("ops", "0003_beat_start"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(finance_group_update, migrations.RunPython.noop)]
