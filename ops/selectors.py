"""Reads for operations: readiness, beat task health, queue depths, auto top-up outcomes."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils import timezone
from kombu.exceptions import OperationalError

from ops.models import BeatStart, BeatTaskRun

_migrations_applied = False


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker_ok() -> None:
    with current_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READYZ_TIMEOUT)


def _migrations_ok() -> None:
    # Once every migration is applied it stays so until the next deploy restarts the
    # process, so the (slow) graph walk runs only until it first succeeds.
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(f"{len(pending)} migration(s) not applied, first {pending[0][0]}")
    _migrations_applied = True


def readiness_check() -> dict[str, str]:
    """Each dependency a request needs, "ok" or why not. Errors are summarised by type:
    a readiness probe is unauthenticated, so it must not echo connection strings."""
    results = {}
    for name, check in (("database", _database_ok), ("broker", _broker_ok), ("migrations", _migrations_ok)):
        try:
            check()
            results[name] = "ok"
        except RuntimeError as exc:
            results[name] = str(exc)
        except Exception as exc:  # any failure means "not ready"; the probe reports it instead of a 500
            results[name] = f"unavailable ({type(exc).__name__})"
    return results


@dataclass(frozen=True)
class BeatTaskHealth:
    name: str
    task: str
    last_success_at: datetime | None
    # When it should next (or first) run; None when no beat has ever started.
    due_at: datetime | None
    overdue: bool

    @property
    def waiting_for_first_run(self) -> bool:
        return self.last_success_at is None and not self.overdue


def beat_task_health(*, now: datetime | None = None) -> list[BeatTaskHealth]:
    """Every beat schedule entry with its last success and when it is due: after its last
    success, or after beat last started if that is later (a task cannot run while beat is
    down, and a daily task waits up to a day for its first run). Overdue: due more than
    BEAT_OVERDUE_GRACE seconds ago, or no beat has ever started and it never succeeded."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.BEAT_OVERDUE_GRACE)
    last_runs = dict(BeatTaskRun.objects.values_list("task", "last_success_at"))
    beat_started_at = BeatStart.objects.values_list("started_at", flat=True).first()
    health = []
    for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items()):
        last = last_runs.get(entry["task"])
        since = max((t for t in (last, beat_started_at) if t is not None), default=None)
        if since is None:
            due_at, overdue = None, True
        else:
            schedule = maybe_schedule(entry["schedule"], app=current_app)
            schedule.nowfun = lambda: now
            due_at = now + schedule.remaining_estimate(since)
            overdue = due_at < now - grace
        health.append(
            BeatTaskHealth(name=name, task=entry["task"], last_success_at=last, due_at=due_at, overdue=overdue)
        )
    return health


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue the workers consume; empty when the broker is unreachable."""
    depths = {}
    try:
        with current_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.READYZ_TIMEOUT)
            channel = conn.default_channel
            for queue in settings.CELERY_QUEUE_NAMES:
                try:
                    depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except conn.channel_errors:
                    # A queue nobody has used yet does not exist (an empty Redis list is no key).
                    depths[queue] = 0
                    channel = conn.channel()
    except (OSError, OperationalError):
        return {}
    return depths


def auto_top_up_outcomes() -> dict[str, int]:
    from payments.models import TopUp

    counts = dict.fromkeys(TopUp.Status.values, 0)
    rows = TopUp.objects.filter(kind=TopUp.Kind.AUTO).values_list("status").annotate(n=Count("id"))
    counts.update(dict(rows))
    return counts
