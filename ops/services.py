"""Writes for operations."""

from datetime import datetime

from ops.models import BeatStart, BeatTaskRun


def beat_run_record(*, task: str, at: datetime) -> None:
    """Remember a periodic task's success; concurrent workers may race, the latest time wins."""
    updated = BeatTaskRun.objects.filter(task=task, last_success_at__lt=at).update(last_success_at=at)
    if not updated:
        BeatTaskRun.objects.get_or_create(task=task, defaults={"last_success_at": at})


def beat_start_record(*, at: datetime) -> None:
    BeatStart.objects.update_or_create(pk=1, defaults={"started_at": at})
