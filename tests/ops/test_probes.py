"""/healthz and /readyz: unauthenticated probes for the load balancer and the orchestrator."""

import pytest
from django.db.migrations.executor import MigrationExecutor

from ops import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_migration_check(monkeypatch):
    monkeypatch.setattr(selectors, "_migrations_applied", False)


def test_healthz_answers_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_ok_when_database_broker_and_migrations_are(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "migrations": "ok"}}


def test_readyz_is_503_while_a_migration_is_pending(client, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [(("ops", "0002_next"), False)])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["migrations"] == "1 migration(s) not applied, first ('ops', '0002_next')"


def test_readyz_is_503_without_a_broker_and_does_not_reveal_its_address(client, settings):
    from billing_portal.celery import app

    broker = "redis://127.0.0.1:1/0"
    previous = app.conf.broker_url
    app.conf.broker_url = broker
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"].startswith("unavailable (")
    assert "127.0.0.1" not in response.content.decode()


def test_probes_refuse_post(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
