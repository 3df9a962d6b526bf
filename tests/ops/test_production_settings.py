"""PRODUCTION=true refuses to start on the demo's embedded servers (database, Redis,
metrics token) and names what is missing; with everything set it loads and routes queues."""

import subprocess
import sys

import pytest

from tests.ops.processes import ROOT

COMPLETE = {
    "PRODUCTION": "true",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789",
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "DATABASE_URL": "postgres://billing@db.internal:5432/billing",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "METRICS_TOKEN": "scrape-token",
    "ALLOWED_HOSTS": "billing.example.com",
    "PATH": "/usr/bin:/bin",
}
PRINT = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'billing_portal.settings'; django.setup();"
    "from django.conf import settings as s;"
    "print(s.CELERY_TASK_ROUTES['wallets.tasks.send_admin_notice']['queue'], s.CELERY_TASK_DEFAULT_QUEUE)"
)


def _load(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_complete_production_environment_loads_with_notices_on_their_own_queue():
    result = _load(COMPLETE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "notices billing"


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("DATABASE_URL", "DATABASE_URL"),
        ("REDIS_URL", "REDIS_URL"),
        ("METRICS_TOKEN", "METRICS_TOKEN"),
    ],
)
def test_production_without_a_required_setting_refuses_to_start(unset, named):
    env = {key: value for key, value in COMPLETE.items() if key != unset}
    result = _load(env)
    assert result.returncode != 0
    assert f"PRODUCTION=true needs {named}" in result.stderr


def test_a_database_other_than_postgresql_is_refused_with_its_engine_named():
    result = _load({**COMPLETE, "PRODUCTION": "false", "DATABASE_URL": "mysql://billing@127.0.0.1:3306/billing"})
    assert result.returncode != 0
    assert "DATABASE_URL must point at PostgreSQL, not django.db.backends.mysql" in result.stderr
