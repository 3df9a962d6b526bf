"""The production layout under load: two gunicorn web processes and two Celery workers on
the real PostgreSQL and Redis, four client processes posting the same usage batches at
once (so every event arrives four times, concurrently), auto top-ups charging the Stripe
stand-in, and beat's tasks (number fees, releases, reconciliation) sent mid-run.

Afterwards the ledger verifies, every event is recorded and charged exactly once, every
auto top-up is one PaymentIntent and one credit, and every paid number period is one posting.
It runs twice: straight to PostgreSQL, and through PgBouncer in transaction pooling mode
(tests/ops/pgbouncer.py, DATABASE_POOLER=transaction), where all the processes together
never hold more than the pool's POOLED_SERVER_CONNECTIONS server connections. Each run
prints the most server connections it saw (`pytest -rP` shows it).
Small and bounded (about 30 seconds each): it runs with the normal suite."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from billing_portal.celery import app
from ops.models import BeatTaskRun
from payments.models import TopUp
from tests.factories import WorkspaceFactory, api_key_for, priced_sms_channel, wallet_of
from tests.ops.pgbouncer import PgBouncer, ServerConnectionPeak
from tests.ops.processes import Processes, free_port, http_ok, subprocess_database_url, wait_until
from tests.stripe_helpers import save_card
from usage.models import NumberFeeCharge, PhoneNumber, UsageRecord
from wallets.models import AutoTopUpRule, WalletTransaction

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The suite runs tasks eagerly in-process; these tests publish to a real broker on purpose.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

WORKSPACES = 3
BATCHES_PER_WORKSPACE = 6
EVENTS_PER_BATCH = 40
CLIENTS = 4
# Fewer than the layout's 6 database clients (2 web processes x 2 threads, 2 workers).
POOLED_SERVER_CONNECTIONS = 3
BEAT_TASKS = (
    "phone_numbers.tasks.bill_number_fees",
    "phone_numbers.tasks.release_due_numbers",
    "payments.tasks.reconcile_payments",
)


def _batches(slug: str) -> list[list[dict]]:
    occurred = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return [
        [
            {
                "id": f"{slug}-{batch}-{n}",
                "channel": f"+1415555{slug[-1]}000",
                "type": "sms",
                "direction": "outbound",
                "status": "delivered",
                "country": "US",
                "segments": 1 + n % 3,
                "occurred_at": occurred,
            }
            for n in range(EVENTS_PER_BATCH)
        ]
        for batch in range(BATCHES_PER_WORKSPACE)
    ]


def _queues_drained(broker: redis.Redis) -> bool:
    # Redis transport: waiting messages are lists named after the queue; delivered but
    # not yet acknowledged ones (acks_late) sit in the "unacked" hash.
    waiting = sum(broker.llen(queue) for queue in settings.CELERY_QUEUE_NAMES)
    return waiting == 0 and broker.hlen("unacked") == 0


def _settled() -> bool:
    return not TopUp.objects.filter(status=TopUp.Status.PENDING).exists() and BeatTaskRun.objects.filter(
        task__in=BEAT_TASKS
    ).count() == len(BEAT_TASKS)


@pytest.fixture(params=["direct", "pgbouncer"])
def database_env(request, tmp_path):
    """How the processes reach the test database: straight, or through a PgBouncer of a small pool."""
    if request.param == "direct":
        yield {"DATABASE_URL": subprocess_database_url()}
        return
    bouncer = PgBouncer(tmp_path, pool_size=POOLED_SERVER_CONNECTIONS).start()
    yield {"DATABASE_URL": bouncer.url(connection.settings_dict["NAME"]), "DATABASE_POOLER": "transaction"}
    bouncer.stop()


def test_two_web_processes_and_two_workers_charge_every_event_once(stripe_standin, tmp_path, database_env):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*settings.CELERY_QUEUE_NAMES, "unacked", "unacked_index")
    jobs = []
    for index in range(WORKSPACES):
        workspace = WorkspaceFactory(slug=f"load{index}")
        channel = priced_sms_channel(workspace, number=f"+1415555{index}000", balance="5.50")
        # Bought 40 days ago: exactly one monthly fee falls due, paid now or, if ingest has
        # emptied the wallet first, by the settle task that follows the auto top-up.
        PhoneNumber.objects.filter(channel=channel).update(purchased_at=timezone.now() - timedelta(days=40))
        save_card(stripe_standin, workspace)
        # Below US$5 the wallet tops itself up by US$20: each wallet crosses it during the run.
        AutoTopUpRule.objects.create(
            wallet=wallet_of(workspace, "sms"), enabled=True, threshold=Decimal("5.00"), amount=Decimal("20.00")
        )
        key = api_key_for(workspace)
        jobs += [{"key": key, "events": events} for events in _batches(workspace.slug)]
    unique_events = WORKSPACES * BATCHES_PER_WORKSPACE * EVENTS_PER_BATCH

    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    procs = Processes(
        tmp_path,
        {
            **database_env,
            "REDIS_URL": settings.REDIS_URL,
            "STRIPE_API_BASE": stripe_standin.url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "API_RATE_USAGE": "100000/min",
            "METRICS_TOKEN": "scrape-me",
            "CELERY_TASK_ALWAYS_EAGER": "false",
        },
    )
    own = (connection.connection.info.backend_pid,)  # this test's connection, not the layout's
    server_connections = ServerConnectionPeak(connection.settings_dict["NAME"], ignore=own).start()
    try:
        procs.gunicorn(port, workers=2)
        procs.celery_worker("worker1", "billing,notices")
        procs.celery_worker("worker2", "billing,notices")
        base_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(f"{base_url}/readyz"), timeout=60, what="gunicorn /readyz")

        clients = []
        for number in range(CLIENTS):
            # Each client sends every batch, starting at a different point: four concurrent copies of each.
            start = number * len(jobs) // CLIENTS
            plan = tmp_path / f"client{number}.json"
            plan.write_text(json.dumps({"base_url": base_url, "jobs": jobs[start:] + jobs[:start]}))
            clients.append(procs.start(f"client{number}", "-m", "tests.ops.load_client", str(plan)))
        for task in BEAT_TASKS:  # as beat would, while the clients are busy
            app.send_task(task)
        accepted = 0
        for number, client in enumerate(clients):
            assert client.wait(timeout=180) == 0, procs.log(f"client{number}")
            accepted += json.loads(procs.log(f"client{number}").splitlines()[-1])["accepted"]

        wait_until(lambda: _queues_drained(broker) and _settled(), timeout=90, what="workers to drain the queues")
        metrics = _scrape(base_url)
    finally:
        procs.stop_all()
        server_connections.stop()

    print(f"most server connections at once ({'pooled' if 'DATABASE_POOLER' in database_env else 'direct'}):",
          server_connections.peak)  # fmt: skip
    if "DATABASE_POOLER" in database_env:
        assert 1 <= server_connections.peak <= POOLED_SERVER_CONNECTIONS

    call_command("verify_ledger")
    assert accepted == unique_events
    assert UsageRecord.objects.count() == unique_events
    assert UsageRecord.objects.values("message_id").distinct().count() == unique_events
    for index in range(WORKSPACES):
        wallet = wallet_of(WorkspaceFactory._meta.model.objects.get(slug=f"load{index}"), "sms")
        usage_total = UsageRecord.objects.filter(wallet=wallet).aggregate(s=Sum("total"))["s"]
        charged = WalletTransaction.objects.filter(wallet=wallet, kind__in=["message_charge", "carrier_fee"]).aggregate(
            s=Sum("amount")
        )["s"]
        assert charged == -usage_total
        assert UsageRecord.objects.filter(wallet=wallet, posting__isnull=True).count() == 0

    top_ups = TopUp.objects.filter(kind=TopUp.Kind.AUTO, status=TopUp.Status.SUCCEEDED)
    assert top_ups.count() >= WORKSPACES
    assert stripe_standin.count("payment_intent") == TopUp.objects.filter(kind=TopUp.Kind.AUTO).count()
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == top_ups.count()
    assert (
        WalletTransaction.objects.filter(kind="auto_top_up").aggregate(s=Sum("amount"))["s"]
        == (top_ups.aggregate(s=Sum("amount"))["s"])
    )

    paid = NumberFeeCharge.objects.filter(posting__isnull=False)
    assert paid.count() == NumberFeeCharge.objects.count() == WORKSPACES
    assert WalletTransaction.objects.filter(kind="number_fee").count() == paid.count()

    # Counters from both web processes, summed through PROMETHEUS_MULTIPROC_DIR.
    assert _sample(metrics, 'billing_ingest_events_total{outcome="accepted"}') == unique_events
    assert _sample(metrics, 'billing_ingest_events_total{outcome="duplicate"}') == unique_events * (CLIENTS - 1)
    # Logs are JSON lines carrying the workspace; no API key ever reaches them.
    web_log = procs.log("web")
    assert '"route": "api/v1/usage", "status": 200' in web_log or '"route": "v1/usage"' in web_log
    assert '"workspace_id": ' in web_log
    assert "bpk_" not in web_log + procs.log("worker1") + procs.log("worker2")


def _scrape(base_url: str) -> str:
    import urllib.request

    request = urllib.request.Request(f"{base_url}/metrics", headers={"Authorization": "Bearer scrape-me"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def _sample(metrics: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))
