"""ops migration 0002: beat's stored schedule and the recorded last successes follow the
number-fee tasks from usage.tasks to phone_numbers.tasks, and back on reverse."""

from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.apps import apps
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ops.models import BeatTaskRun

pytestmark = pytest.mark.django_db

migration = import_module("ops.migrations.0002_number_fee_tasks_renamed")
WHEN = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


def _stored_as_before_the_move() -> None:
    every_hour = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.create(name="bill-number-fees", task="usage.tasks.bill_number_fees", interval=every_hour)
    PeriodicTask.objects.create(name="staff-added", task="usage.tasks.release_due_numbers", interval=every_hour)
    PeriodicTask.objects.create(name="payments", task="payments.tasks.reconcile_payments", interval=every_hour)
    BeatTaskRun.objects.create(task="usage.tasks.bill_number_fees", last_success_at=WHEN)


def test_forwards_renames_stored_tasks_and_their_last_success_and_leaves_the_rest():
    PeriodicTask.objects.all().delete()
    _stored_as_before_the_move()

    migration.forwards(apps, None)

    assert dict(PeriodicTask.objects.values_list("name", "task")) == {
        "bill-number-fees": "phone_numbers.tasks.bill_number_fees",
        "staff-added": "phone_numbers.tasks.release_due_numbers",
        "payments": "payments.tasks.reconcile_payments",
    }
    assert list(BeatTaskRun.objects.values_list("task", "last_success_at")) == [
        ("phone_numbers.tasks.bill_number_fees", WHEN)
    ]


def test_backwards_restores_the_old_names():
    PeriodicTask.objects.all().delete()
    _stored_as_before_the_move()
    migration.forwards(apps, None)

    migration.backwards(apps, None)

    assert PeriodicTask.objects.get(name="bill-number-fees").task == "usage.tasks.bill_number_fees"
    assert BeatTaskRun.objects.get().task == "usage.tasks.bill_number_fees"


def test_a_later_success_already_recorded_under_the_new_name_wins():
    BeatTaskRun.objects.create(task="usage.tasks.bill_number_fees", last_success_at=WHEN)
    BeatTaskRun.objects.create(task="phone_numbers.tasks.bill_number_fees", last_success_at=WHEN.replace(hour=11))

    migration.forwards(apps, None)

    assert list(BeatTaskRun.objects.values_list("task", "last_success_at")) == [
        ("phone_numbers.tasks.bill_number_fees", WHEN.replace(hour=11))
    ]
