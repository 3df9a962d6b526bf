"""The number-fee tasks moved from usage.tasks to phone_numbers.tasks (names are paths).

Beat's DatabaseScheduler sends the task named in each PeriodicTask row, and a row saved
under an old name (one staff edited or added in the admin included) would send a task no
worker knows. The last successes recorded under the old names (BeatTaskRun) follow too, so
the beat health check does not call the tasks late just because they were renamed.
"""

from django.db import migrations

RENAMES = {
    "usage.tasks.bill_number_fees": "phone_numbers.tasks.bill_number_fees",
    "usage.tasks.release_due_numbers": "phone_numbers.tasks.release_due_numbers",
    "usage.tasks.settle_number_fees": "phone_numbers.tasks.settle_number_fees",
}


def _rename(apps, mapping: dict[str, str]) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    BeatTaskRun = apps.get_model("ops", "BeatTaskRun")
    for old, new in mapping.items():
        PeriodicTask.objects.filter(task=old).update(task=new)
        # A worker that already ran the task under its new name recorded a later success: keep that one.
        if BeatTaskRun.objects.filter(task=new).exists():
            BeatTaskRun.objects.filter(task=old).delete()
        else:
            BeatTaskRun.objects.filter(task=old).update(task=new)


def forwards(apps, schema_editor) -> None:
    _rename(apps, RENAMES)


def backwards(apps, schema_editor) -> None:
    _rename(apps, {new: old for old, new in RENAMES.items()})


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(forwards, backwards)]
