"""Everything the portal does to its database works through PgBouncer in transaction pooling mode.

A real PgBouncer (tests/ops/pgbouncer.py, from ops/pgbouncer/pgbouncer.ini) on a loopback
port, with a pool of POOL_SIZE server connections, and THREADS clients of one process set up
as production would be (DATABASE_URL at PgBouncer, DATABASE_POOLER=transaction;
tests/ops/pooler_driver.py): usage ingest through the API, concurrent ledger postings while
the monthly fee run (the beat task) bills a number, the authorization fast path past
psycopg's prepare threshold on every client, concurrent CSV exports (COPY) and the ledger
check. Every client's transactions run on server connections other clients used before, so
session state kept on one (a prepared statement, a holdable cursor, a SET) would be missing,
or leak, and show as an error or a wrong number here.

Real commits (transaction=True): the driver is another process and sees only committed rows.
"""

import configparser
import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from tests.factories import WorkspaceFactory, api_key_for, priced_sms_channel, wallet_of
from tests.ops.pgbouncer import PRODUCTION_CONFIG, PgBouncer, ServerConnectionPeak
from tests.ops.processes import ROOT
from usage.models import NumberFeeCharge, PhoneNumber, UsageRecord
from usage.selectors import workspace_tz
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db(transaction=True)

POOL_SIZE = 2
THREADS = 8  # clients, four times the pool
EVENTS_PER_THREAD = 5
POSTINGS_PER_THREAD = 6
POSTING = Decimal("0.250000")
FUNDED = Decimal("100.00")
D = Decimal


@pytest.fixture
def bouncer(tmp_path):
    pgbouncer = PgBouncer(tmp_path, pool_size=POOL_SIZE).start()
    yield pgbouncer
    pgbouncer.stop()


def _drive(step: str, plan: dict, bouncer: PgBouncer, tmp_path) -> dict:
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    env = {
        # As a URL copied from a direct connection might ask; DATABASE_POOLER must win over it.
        "DATABASE_URL": bouncer.url(connection.settings_dict["NAME"]) + "?prepare_threshold=1",
        "DATABASE_POOLER": "transaction",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "API_RATE_USAGE": "100000/min",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.ops.pooler_driver", step, str(tmp_path / "plan.json")],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:] + bouncer.log.read_text()[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def _plan(workspace) -> dict:
    wallet = wallet_of(workspace, "sms")
    occurred = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    today = timezone.localdate(timezone=workspace_tz(wallet))
    batches = [
        [
            {"id": f"pooled-{thread}-{n}", "channel": "+14155550100", "type": "sms", "direction": "outbound",
             "status": "delivered", "country": "US", "segments": 1 + n % 3, "occurred_at": occurred}
            for n in range(EVENTS_PER_THREAD)
        ]
        for thread in range(THREADS)
    ]  # fmt: skip
    return {
        "key": api_key_for(workspace),
        "channel": "+14155550100",
        "wallet_id": wallet.id,
        "threads": THREADS,
        "batches": batches,
        "postings_per_thread": POSTINGS_PER_THREAD,
        "posting_amount": str(POSTING),
        "export_range": {"start": str(today - timedelta(days=1)), "end": str(today)},
    }


def test_the_production_config_pools_by_transaction_within_its_cap_and_holds_no_secret():
    config = configparser.ConfigParser(interpolation=None)
    config.read(PRODUCTION_CONFIG)
    pgbouncer = config["pgbouncer"]
    assert pgbouncer["pool_mode"] == "transaction"
    assert pgbouncer.getint("default_pool_size") + pgbouncer.getint("reserve_pool_size") <= pgbouncer.getint(
        "max_db_connections"
    )
    assert all("password" not in target for target in config["databases"].values())
    assert pgbouncer["auth_file"].startswith("/etc/")  # written by the deployment, not in the repository


def test_ingest_postings_fee_run_authorizations_and_exports_work_through_pgbouncer(bouncer, tmp_path):
    workspace = WorkspaceFactory(slug="pooled")
    priced_sms_channel(workspace, balance=str(FUNDED))
    # Bought 40 days ago: exactly one monthly fee falls due, billed by the fee run.
    PhoneNumber.objects.update(purchased_at=timezone.now() - timedelta(days=40))
    plan = _plan(workspace)
    own = (connection.connection.info.backend_pid,)  # this test's own, direct connection

    with ServerConnectionPeak(connection.settings_dict["NAME"], ignore=own) as through_pool:
        worked = _drive("work", plan, bouncer, tmp_path)
        exported = _drive("export", plan, bouncer, tmp_path)

    # PgBouncer served THREADS clients on at most POOL_SIZE server connections.
    assert 1 <= through_pool.peak <= POOL_SIZE
    assert worked["accepted"] == [[EVENTS_PER_THREAD, 0]] * THREADS

    wallet = wallet_of(workspace, "sms")
    usage_total = UsageRecord.objects.filter(wallet=wallet).aggregate(s=Sum("total"))["s"]
    assert UsageRecord.objects.count() == THREADS * EVENTS_PER_THREAD
    assert UsageRecord.objects.filter(posting__isnull=True).count() == 0
    fee = NumberFeeCharge.objects.get()
    assert fee.posting is not None
    assert worked["fee_events"] >= 1
    adjustments = WalletTransaction.objects.filter(wallet=wallet, memo__startswith="pooler ")
    assert adjustments.count() == THREADS * POSTINGS_PER_THREAD
    expected = FUNDED + THREADS * POSTINGS_PER_THREAD * POSTING - usage_total - fee.posting.amount.copy_abs()
    assert wallet.balance == expected
    assert WalletTransaction.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] == expected
    # Every fast-path answer (THREADS x 8 calls, then two in a row across server connections) came
    # from the fast path itself, on the final balance: a database error there would have failed the driver.
    assert [json.loads(answer) for answer in worked["answers"]] == [
        {"allowed": True, "reason": None, "balance": f"{expected:.6f}"}
    ]

    files = exported["files"]
    assert len(set(files)) == 1  # every concurrent export wrote the same file
    rows = list(csv.DictReader(io.StringIO(files[0])))
    kinds = [row["row_type"] for row in rows]
    assert kinds.count("message") == THREADS * EVENTS_PER_THREAD
    assert kinds.count("number_fee") == 1
    assert kinds.count("adjustment") == THREADS * POSTINGS_PER_THREAD + 1  # and the funding
    assert sum(D(row["wallet_change"]) for row in rows) == expected  # every posting is in the range
    assert exported["verify"].startswith("Ledger OK: ")
    assert exported["iterated"] == WalletTransaction.objects.count()


def test_the_pool_really_shares_server_connections_so_session_state_is_lost(bouncer):
    """The control: a statement prepared by one client is gone once another client holds
    the server connection it was prepared on. The portal must not rely on that, above."""
    url = bouncer.url(connection.settings_dict["NAME"])
    with psycopg.connect(url, autocommit=True) as first, psycopg.connect(url, autocommit=True) as second:
        first.execute("SELECT 1", prepare=True)
        with second.transaction():
            second.execute("SELECT 1")  # holds the server connection `first` prepared on
            with pytest.raises(psycopg.errors.InvalidSqlStatementName):
                first.execute("SELECT 1", prepare=True)


# Session state a transaction pooler does not keep: the next transaction may run on another server
# connection, and the state set here stays behind for whichever client gets this one next.
SESSION_STATE = {
    "session advisory lock (use pg_advisory_xact_lock)": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "session SET (use SET LOCAL, or SET TRANSACTION)": re.compile(
        r"(^|[;\"'(])\s*SET\s+(SESSION\s+)?(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)\w+\s*(=|\bTO\b)", re.I | re.M
    ),
    "session set_config (pass is_local true)": re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I),
    "temporary table that outlives its transaction (ON COMMIT DROP)": re.compile(
        r"\bCREATE\s+(TEMP|TEMPORARY)\s+TABLE\b(?![^;]*ON\s+COMMIT\s+DROP)", re.I
    ),
    "LISTEN": re.compile(r"\b(UN)?LISTEN\s+[\w\"*]"),
    "holdable cursor": re.compile(r"\bWITH\s+HOLD\b", re.I),
    "SQL PREPARE": re.compile(r"\bPREPARE\s+\w+\s*(\(|AS\b)"),
}
NOT_PRODUCTION = {".venv", "var", "tests", "bench", ".git", "node_modules"}


def _session_state_in(text: str) -> list[str]:
    return [what for what, pattern in SESSION_STATE.items() if pattern.search(text)]


def test_production_code_keeps_no_session_state_on_the_server():
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in sorted([*ROOT.rglob("*.py"), *ROOT.rglob("*.sql")])
        if not NOT_PRODUCTION & set(path.relative_to(ROOT).parts)
        for what in _session_state_in(path.read_text(errors="replace"))
    ]
    assert found == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT pg_advisory_lock(1)",
        'cursor.execute("SET statement_timeout = 5000")',
        "SET search_path TO billing",
        "SELECT set_config('app.workspace', '7', false)",
        "CREATE TEMP TABLE staged (id int)",
        "LISTEN wallet_changes",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "PREPARE balance AS SELECT 1",
    ],
)
def test_the_session_state_check_finds(sql):
    assert _session_state_in(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT pg_advisory_xact_lock(%s, %s)",
        "SET LOCAL statement_timeout = 5000",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "UPDATE wallets_wallet SET balance = %s WHERE id = %s",
        '"DO UPDATE SET messages = volume.messages + EXCLUDED.messages "',
        "SELECT set_config('app.workspace', '7', true)",
        "CREATE TEMP TABLE staged (id int) ON COMMIT DROP",
        "# nothing listens: reconciliation cannot reach Stripe",
    ],
)
def test_the_session_state_check_lets_pass(sql):
    assert _session_state_in(sql) == []


SHOW_DATABASE_SETTINGS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'billing_portal.settings'; django.setup();"
    "from django.db import connection as c;"
    "print(c.get_connection_params()['prepare_threshold'], c.settings_dict.get('DISABLE_SERVER_SIDE_CURSORS', False))"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("pooler", "shown"),
    [
        ("transaction", "None True"),  # whatever the URL asked for
        ("", "5 False"),  # a direct connection keeps what its URL asks
    ],
)
def test_database_pooler_turns_prepared_statements_and_holdable_cursors_off(pooler, shown):
    url = "postgres://billing@db.internal:6432/billing?prepare_threshold=5"
    result = _python(SHOW_DATABASE_SETTINGS, DATABASE_URL=url, DATABASE_POOLER=pooler)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown


def test_an_unknown_pooler_mode_is_refused_by_name():
    result = _python("import billing_portal.settings", DATABASE_POOLER="session")
    assert result.returncode != 0
    assert "DATABASE_POOLER='session': expected 'transaction' or nothing" in result.stderr
