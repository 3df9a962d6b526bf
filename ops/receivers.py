"""Signal receivers of the ops app, connected in OpsConfig.ready: they feed the metrics,
the beat task health and the log context."""

from collections import Counter

from celery.signals import beat_init, task_prerun, task_success
from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from ops.metrics import POSTINGS
from ops.observability import task_context_bind
from ops.services import beat_run_record, beat_start_record
from wallets.signals import posting_committed

task_prerun.connect(task_context_bind, weak=False, dispatch_uid="ops.task_context_bind")


@receiver(posting_committed, dispatch_uid="ops.count_posting")
def count_posting(sender: type, postings: list, **kwargs: object) -> None:
    for kind, count in Counter(posting.kind for posting in postings).items():
        POSTINGS.labels(kind).inc(count)


@task_success.connect(weak=False, dispatch_uid="ops.beat_task_succeeded")
def beat_task_succeeded(sender, **kwargs: object) -> None:
    beat_tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    if sender is not None and sender.name in beat_tasks:
        beat_run_record(task=sender.name, at=timezone.now())


@beat_init.connect(weak=False, dispatch_uid="ops.beat_started")
def beat_started(sender, **kwargs: object) -> None:
    beat_start_record(at=timezone.now())
