"""Beat task health: a worker's success is recorded; a task late past its schedule plus
BEAT_OVERDUE_GRACE shows as a warning on the admin index and in its own admin list."""

from datetime import UTC, datetime

import pytest
import stripe
import time_machine
from django.contrib.auth import get_user_model

from ops.models import BeatStart, BeatTaskRun
from ops.selectors import beat_task_health
from payments.tasks import reconcile_payments
from phone_numbers.tasks import settle_number_fees
from tests.factories import finance_user, wallet_of

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 50, tzinfo=UTC)


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.test", "pw-12345678")
    client.force_login(user)
    return client


def _record(task: str, at: datetime) -> None:
    BeatTaskRun.objects.update_or_create(task=task, defaults={"last_success_at": at})


def _health() -> dict[str, bool]:
    with time_machine.travel(NOW, tick=False):
        return {health.name: health.overdue for health in beat_task_health(now=NOW)}


def test_a_successful_beat_task_records_its_run_and_other_tasks_do_not(workspace, stripe_standin):
    with time_machine.travel(NOW, tick=False):
        reconcile_payments.delay()
        settle_number_fees.delay(wallet_of(workspace, "sms").id)
    assert list(BeatTaskRun.objects.values_list("task", "last_success_at")) == [
        ("payments.tasks.reconcile_payments", NOW)
    ]


def test_a_failed_beat_task_records_nothing(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens: reconciliation cannot reach Stripe
    with pytest.raises(stripe.APIConnectionError):
        reconcile_payments.delay()
    assert BeatTaskRun.objects.count() == 0


def test_interval_task_is_late_only_after_its_interval_plus_the_grace(settings):
    settings.BEAT_OVERDUE_GRACE = 600
    _record("payments.tasks.reconcile_payments", datetime(2026, 11, 23, 10, 26, tzinfo=UTC))  # due 10:41, late 10:51
    assert _health()["payments-reconcile"] is False
    _record("payments.tasks.reconcile_payments", datetime(2026, 11, 23, 10, 24, tzinfo=UTC))  # due 10:39, late 10:49
    assert _health()["payments-reconcile"] is True


def test_crontab_task_is_late_when_an_hourly_run_was_missed(settings):
    settings.BEAT_OVERDUE_GRACE = 600
    _record("phone_numbers.tasks.bill_number_fees", datetime(2026, 11, 23, 10, 5, 3, tzinfo=UTC))  # next 11:05
    assert _health()["bill-number-fees"] is False
    _record("phone_numbers.tasks.bill_number_fees", datetime(2026, 11, 23, 9, 5, 3, tzinfo=UTC))  # 10:05 missed
    assert _health()["bill-number-fees"] is True


def test_a_task_that_never_succeeded_is_late_when_no_beat_has_started(settings):
    assert _health() == dict.fromkeys(settings.CELERY_BEAT_SCHEDULE, True)


def test_after_beat_starts_each_task_waits_for_its_first_run_until_due_plus_the_grace(settings):
    settings.BEAT_OVERDUE_GRACE = 600
    BeatStart.objects.create(started_at=datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        health = {h.name: h for h in beat_task_health(now=NOW)}
    # The daily ledger check first runs at 03:15 tomorrow: waiting, not failing.
    assert health["finance-ledger-check"].overdue is False
    assert health["finance-ledger-check"].waiting_for_first_run is True
    assert health["finance-ledger-check"].due_at == datetime(2026, 11, 24, 3, 15, tzinfo=UTC)
    # The 15-minute reconciliation was due at 10:45; late only after 10:55.
    assert health["payments-reconcile"].overdue is False
    assert health["payments-reconcile"].due_at == datetime(2026, 11, 23, 10, 45, tzinfo=UTC)
    # Hourly at :05: due 11:05.
    assert health["bill-number-fees"].due_at == datetime(2026, 11, 23, 11, 5, tzinfo=UTC)
    later = datetime(2026, 11, 23, 10, 56, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        assert {h.name: h.overdue for h in beat_task_health(now=later)}["payments-reconcile"] is True


def test_beat_starting_records_its_start_time():
    from celery.signals import beat_init

    with time_machine.travel(NOW, tick=False):
        beat_init.send(sender=None)
    assert BeatStart.objects.get().started_at == NOW


def test_a_freshly_started_beat_shows_no_warning_and_the_list_says_waiting(superuser_client):
    BeatStart.objects.create(started_at=datetime(2026, 11, 23, 10, 49, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        index = superuser_client.get("/admin/")
        listing = superuser_client.get("/admin/ops/beattaskrun/")
    assert index.status_code == 200 and b"beat-warning" not in index.content
    assert listing.status_code == 200
    assert "Waiting for its first run at 24 Nov 2026, 03:15 UTC" in listing.content.decode()


def test_finance_staff_can_follow_the_warning_to_the_task_runs(client):
    client.force_login(finance_user())
    with time_machine.travel(NOW, tick=False):
        index = client.get("/admin/")
        listing = client.get("/admin/ops/beattaskrun/")
        schedules = client.get("/admin/django_celery_beat/periodictask/")
    assert 'href="/admin/ops/beattaskrun/"' in index.content.decode()
    assert listing.status_code == 200
    assert schedules.status_code == 200


def test_admin_index_warns_about_late_tasks_and_links_to_the_list(superuser_client):
    _record("phone_numbers.tasks.bill_number_fees", datetime(2026, 11, 23, 9, 5, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        response = superuser_client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="beat-warning"' in page
    assert "Periodic tasks not running on time." in page
    assert (
        "bill-number-fees (phone_numbers.tasks.bill_number_fees): last succeeded 1\xa0hour, 45\xa0minutes ago" in page
    )
    assert "payments-reconcile (payments.tasks.reconcile_payments): has never run: no celery beat has started" in page
    assert "/admin/ops/beattaskrun/" in page


def test_admin_index_has_no_warning_when_every_task_ran_on_time(superuser_client, settings):
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        _record(entry["task"], datetime(2026, 11, 23, 10, 45, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        response = superuser_client.get("/admin/")
    assert response.status_code == 200
    assert b"beat-warning" not in response.content


def test_admin_list_marks_the_late_task_and_is_read_only(superuser_client):
    _record("phone_numbers.tasks.bill_number_fees", datetime(2026, 11, 23, 9, 5, tzinfo=UTC))
    _record("payments.tasks.reconcile_payments", datetime(2026, 11, 23, 10, 45, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        response = superuser_client.get("/admin/ops/beattaskrun/")
        add = superuser_client.get("/admin/ops/beattaskrun/add/")
    assert response.status_code == 200
    assert response.content.decode().count("LATE") == 1
    assert add.status_code == 403
    assert BeatTaskRun.objects.count() == 2
