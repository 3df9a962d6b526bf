"""A real Celery worker process for fault-injection tests: started on the test database and
the test Redis, killed with SIGKILL, restarted. Nothing here mocks Celery."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.conf import settings

from billing_portal.celery import app
from tests.ops.processes import subprocess_database_url

BROKER_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def broker_reset() -> None:
    """An empty queue and no abandoned messages of an earlier run."""
    broker().delete(*BROKER_KEYS)


def broker_backlog() -> tuple[int, int]:
    """(messages waiting, messages delivered but not acknowledged)."""
    client = broker()
    return client.llen("celery"), client.hlen("unacked")


class Worker:
    """`celery worker --pool=solo`: the process that runs a task is the one we kill."""

    def __init__(self, *, log: Path, env: dict[str, str]) -> None:
        self.log, self.env = log, env
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self, *, timeout: float = 60) -> None:
        self.log.write_text("")
        env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "CELERY_TASK_ALWAYS_EAGER": "false", **self.env}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "billing_portal", "worker", "--pool=solo", "-l", "INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"fault-{os.getpid()}@%h"],
                cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while " ready." not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"worker did not start (exit {self.process.poll()}):\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no cleanup."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def drain(self, *, timeout: float = 90) -> None:
        """Wait until every message, including those a killed worker abandoned, has run."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if broker_backlog() == (0, 0):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:
                    return
            else:
                quiet_since = None
            time.sleep(0.2)
        raise AssertionError(f"queue not drained: {broker_backlog()}\n{self.log.read_text()[-3000:]}")


def tasks_really_queued():
    """Inside: .delay() sends to the broker instead of running inline (tests/conftest.py)."""
    return _Queued()


class _Queued:
    def __enter__(self) -> None:
        app.conf.task_always_eager = False

    def __exit__(self, *exc: object) -> None:
        app.conf.task_always_eager = True
