"""A real streaming replica: which reads it serves, and when the primary serves them instead.

The module starts its own primary (initdb, replication allowed from loopback) and a standby
made by `pg_basebackup -R`, each on a free loopback port (tests/ops/pg_cluster.py), then runs
tests/ops/replica_scenario.py once in a process of its own, with DATABASE_URL on the primary
and DATABASE_REPLICA_URL on the standby. The scenario pauses the standby's replay so that
its data differs from the primary's (3 messages against 5, the balance before and after two
charges): what each page shows says which server it read, and the tables each server was
asked for say it again. The tests below read that record: about 25 seconds in all, most of it
migrating the fresh database. The last three tests need no server: without DATABASE_REPLICA_URL
nothing of it is installed or runs.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connections

from common.replica import PRIMARY, recent_reads
from tests.ops.pg_cluster import cluster_start
from tests.ops.processes import ROOT

DATABASE = "billing_replica_scenario"
SCENARIO_TIMEOUT = 240  # seconds; migrating a fresh database is most of it
BALANCE_TABLE = "wallets_wallet"
USAGE_TABLES = {"usage_dailyusagerollup", "usage_usagerecord"}


@pytest.fixture(scope="module")
def seen() -> dict:
    cluster = cluster_start(DATABASE)
    try:
        env = {
            **os.environ,
            "DATABASE_URL": cluster.primary.url(DATABASE),
            "DATABASE_REPLICA_URL": cluster.replica.url(DATABASE),
            "REPLICA_DATA_DIR": str(cluster.replica.data_dir),
            "REPLICA_PORT": str(cluster.replica.port),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "LOG_LEVEL": "ERROR",
        }
        run = subprocess.run(
            [sys.executable, "-m", "tests.ops.replica_scenario"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT,
        )
    finally:
        cluster.stop()
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _never_read_a_balance(visit: dict) -> None:
    assert visit["replica_balance_reads"] == [], visit


def test_a_fresh_replica_serves_the_usage_reads_and_says_nothing_about_age(seen):
    page = seen["fresh"]["wallet_page"]

    assert page["status"] == 200
    assert page["messages"] == 3
    assert page["as_of"] is False
    assert USAGE_TABLES <= set(page["replica_tables"])
    assert BALANCE_TABLE in page["primary_tables"]
    assert seen["fresh"]["csv"]["csv_messages"] == 3
    assert "usage_usagerecord" in seen["fresh"]["csv"]["replica_tables"]
    assert "usage_usagerecord" in seen["fresh"]["usage_admin"]["replica_tables"]
    assert "wallets_wallettransaction" in seen["fresh"]["dashboard"]["replica_tables"]


def test_a_lagging_replica_serves_its_older_usage_and_the_page_says_as_of_when(seen):
    lagging = seen["lagging"]

    assert lagging["wallet_page"]["messages"] == 3  # the primary holds 5
    assert lagging["wallet_page"]["as_of"] is True
    assert USAGE_TABLES <= set(lagging["wallet_page"]["replica_tables"])
    assert lagging["csv"]["csv_messages"] == 3
    assert lagging["usage_admin"]["admin_rows"] == 3
    assert lagging["usage_admin"]["as_of"] is True
    assert lagging["dashboard"]["as_of"] is True


def test_balances_are_always_the_primarys_even_while_the_usage_beside_them_is_older(seen):
    lagging = seen["lagging"]
    new_balance = seen["balance_after_writes"]

    assert new_balance != seen["seeded_balance"]
    assert lagging["wallet_page"]["balance"] == new_balance
    assert lagging["overview"]["replica_tables"] == []
    assert lagging["dashboard"]["held"] == f"US${Decimal(new_balance):.2f}"
    # The ledger's list (it shows balance_after) is not a replica list.
    assert lagging["ledger_admin"]["replica_tables"] == []
    for visit in [*lagging.values(), *seen["fresh"].values(), *seen["past_lag_limit"].values()]:
        _never_read_a_balance(visit)


def test_authorization_and_the_wallets_api_never_read_the_replica(seen):
    api = seen["lagging_api"]

    assert api["wallets"]["status"] == 200
    balances = {wallet["kind"]: wallet["balance"] for wallet in api["wallets"]["json"]}
    assert balances["sms"] == seen["balance_after_writes"]
    assert api["authorize"]["status"] == 200
    assert api["authorize"]["json"]["allowed"] is True
    assert api["wallets"]["replica_tables"] == api["authorize"]["replica_tables"] == []


def test_after_a_post_the_same_user_reads_the_primary_and_another_user_still_the_replica(seen):
    assert seen["owner_post"]["replica_tables"] == []
    assert seen["owner_after_post"]["messages"] == 5
    assert seen["owner_after_post"]["as_of"] is False
    assert seen["owner_after_post"]["replica_tables"] == []
    assert seen["teammate_after_post"]["messages"] == 3
    # Past the window the write is still not on the paused replica: still the primary.
    assert seen["owner_after_window"]["messages"] == 5
    assert seen["owner_after_window"]["replica_tables"] == []


def test_once_the_replica_holds_the_write_the_user_reads_it_again(seen):
    assert seen["resumed"]["messages"] == 5
    assert seen["resumed"]["as_of"] is False
    assert USAGE_TABLES <= set(seen["resumed"]["replica_tables"])
    assert USAGE_TABLES <= set(seen["owner_once_replica_holds_write"]["replica_tables"])


def test_past_the_lag_limit_every_page_reads_the_primary(seen):
    for name, visit in seen["past_lag_limit"].items():
        assert visit["status"] == 200, name
        assert visit["as_of"] is False, name
        assert visit["replica_tables"] == [], name
    assert seen["past_lag_limit"]["wallet_page"]["messages"] == 5
    assert seen["past_lag_limit"]["csv"]["csv_messages"] == 5
    assert seen["past_lag_limit"]["usage_admin"]["admin_rows"] == 5


def test_a_replica_that_stops_between_lag_checks_costs_no_error_page(seen):
    assert USAGE_TABLES <= set(seen["before_stop"]["replica_tables"])
    assert seen["stopped_mid_check"]["status"] == 200
    assert seen["stopped_mid_check"]["messages"] == 5
    for name, visit in seen["stopped"].items():
        assert visit["status"] == 200, name
        assert visit["replica_tables"] == [], name
    assert seen["stopped"]["wallet_page"]["messages"] == 5
    assert "usage_usagerecord" in seen["restarted_csv"]["replica_tables"]
    assert seen["stopped_mid_check_csv"]["status"] == 200
    assert seen["stopped_mid_check_csv"]["csv_messages"] == 5


# --- without a replica (the normal suite's settings) ----------------------------------------

REPLICA_URL = "postgres://reader@replica.internal:5433/billing"
SETTINGS_WITH_A_REPLICA = (
    "import django; django.setup(); from django.conf import settings as s; import json;"
    "print(json.dumps([s.DATABASES['replica']['HOST'], s.DATABASES['replica']['PORT'],"
    " s.DATABASES['replica']['TEST'], s.DATABASES['replica']['OPTIONS'], s.DATABASE_ROUTERS,"
    " 'common.replica.ReadYourWritesMiddleware' in s.MIDDLEWARE]))"
)


def test_without_a_replica_nothing_routes_and_every_read_is_the_primarys_without_a_query(rf):
    assert "replica" not in settings.DATABASES
    assert getattr(settings, "DATABASE_ROUTERS", []) == []
    assert "common.replica.ReadYourWritesMiddleware" not in settings.MIDDLEWARE
    connections["default"].close()  # so that any query would have to connect

    assert recent_reads(rf.get("/")) is PRIMARY
    assert connections["default"].connection is None


def test_database_replica_url_adds_the_replica_its_router_and_the_session_mark():
    run = subprocess.run(
        [sys.executable, "-c", SETTINGS_WITH_A_REPLICA],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "billing_portal.settings", "DATABASE_REPLICA_URL": REPLICA_URL},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stderr
    host, port, test, options, routers, middleware = json.loads(run.stdout)
    assert (host, port) == ("replica.internal", 5433)
    assert test["MIRROR"] == "default"  # a test run with a replica set never writes to it
    assert options["connect_timeout"] == 2
    assert routers == ["common.replica.ReplicaRouter"]
    assert middleware is True


def test_the_replica_models_exist_and_the_wallet_with_its_balance_is_not_one_of_them():
    for label in settings.REPLICA_READ_MODELS:
        assert apps.get_model(label)
    assert "wallets.Wallet" not in settings.REPLICA_READ_MODELS
