from django.db import models


class BeatTaskRun(models.Model):
    """When each periodic task last finished without error: the "is beat alive and are its
    tasks succeeding?" signal. django-celery-beat's PeriodicTask.last_run_at says when beat
    *sent* a task, not whether a worker ran it, so it cannot tell a dead worker apart."""

    task = models.CharField(max_length=200, unique=True)
    last_success_at = models.DateTimeField()

    class Meta:
        ordering = ["task"]

    def __str__(self) -> str:
        return self.task


class BeatStart(models.Model):
    """When celery beat last started (one row). A task that has not succeeded since then is
    "waiting for its first run" until its schedule says it was due, not a failure."""

    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"beat started {self.started_at:%Y-%m-%d %H:%M %Z}"
