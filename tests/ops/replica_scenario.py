"""The read replica's scenario, run by tests/ops/test_read_replica.py in a process of its own.

DATABASE_URL is a throwaway primary and DATABASE_REPLICA_URL its streaming standby
(tests/ops/pg_cluster.py); REPLICA_DATA_DIR and REPLICA_PORT let the scenario stop the
standby. It migrates, seeds a workspace with usage, then visits the pages as a browser
does (Django's test client) while it pauses the standby's replay, writes on the primary,
changes the lag limits and stops the standby. For each visit it records what the page
showed and which tables each server was asked for, and prints them as one JSON object:
the test asserts on that.

    python -m tests.ops.replica_scenario
"""

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from common.replica import replica_state, replica_state_forget  # noqa: E402
from tests.factories import (  # noqa: E402
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
    api_key_for,
    finance_user,
    priced_sms_channel,
)
from tests.ops.pg_cluster import Server  # noqa: E402
from usage.services import usage_ingest  # noqa: E402
from wallets.models import Membership, Wallet  # noqa: E402

TABLE = re.compile(r'(?:FROM|JOIN)\s+"(\w+)"')
WAIT = 30  # seconds any wait on the servers may take
# Fresh data is what a caught-up replica serves: never "as of". A lag past 1 s is "as of".
STALE_AFTER = {"REPLICA_STALE_AFTER_SECONDS": 1, "REPLICA_MAX_LAG_SECONDS": 600, "REPLICA_LAG_CHECK_SECONDS": 0}

replica = Server(Path(os.environ["REPLICA_DATA_DIR"]), int(os.environ["REPLICA_PORT"]))
database = connections["default"].settings_dict["NAME"]


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def caught_up() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (lsn,) = cursor.fetchone()
    (done,) = replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", database)
    return done


def ingest(workspace, channel, first: int, count: int) -> None:
    occurred = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    usage_ingest(
        workspace=workspace,
        events=[
            {"id": f"rr-{n}", "channel": str(channel.id), "type": "sms", "direction": "outbound",
             "status": "delivered", "country": "US", "segments": 1, "occurred_at": occurred}
            for n in range(first, first + count)
        ],
    )  # fmt: skip


def visit(client: Client, url: str, method: str = "get", **extra) -> dict:
    """One request; what it showed and the tables each server was asked for during it."""
    for alias in ("default", "replica"):
        connections[alias].force_debug_cursor = True
    response = getattr(client, method)(url, **extra)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    # The test client clears each connection's query log when a request starts.
    read = {
        alias: sorted({table for query in connections[alias].queries_log for table in TABLE.findall(query["sql"])})
        for alias in ("default", "replica")
    }
    # The balance column, selected from the replica by any query (a join included).
    balance_reads = [
        query["sql"] for query in connections["replica"].queries_log if '"wallets_wallet"."balance"' in query["sql"]
    ]
    messages = re.search(r'data-summary="messages">(\d+)<', text)
    balance = re.search(r'data-balance="([-\d.]+)"', text)
    held = re.search(r'data-figure="held">.*?class="tile-value">([^<]+)<', text, re.S)
    return {
        "status": response.status_code,
        "messages": int(messages.group(1)) if messages else None,
        "balance": balance.group(1) if balance else None,
        "as_of": "data-usage-as-of" in text or "data-reads-as-of" in text,
        "csv_messages": sum(line.startswith("message,") for line in text.splitlines()),
        "admin_rows": len(set(re.findall(r">rr-\d+<", text))),
        "held": held.group(1).strip() if held else None,
        "json": response.json() if response.get("Content-Type", "").startswith("application/json") else None,
        "primary_tables": read["default"],
        "replica_tables": read["replica"],
        "replica_balance_reads": balance_reads,
    }


def pages(owner: Client, finance: Client, slug: str) -> dict:
    """The replica's pages, and the ones that must never read it."""
    return {
        "wallet_page": visit(owner, f"/w/{slug}/settings/billing/wallet/"),
        "csv": visit(owner, f"/w/{slug}/settings/billing/sms/usage.csv"),
        "dashboard": visit(finance, "/admin/finance/dashboard/"),
        "usage_admin": visit(finance, "/admin/usage/usagerecord/"),
        "ledger_admin": visit(finance, "/admin/wallets/wallettransaction/"),
        "overview": visit(owner, f"/w/{slug}/settings/billing/"),
    }


def api(client: Client, key: str, channel_id: int) -> dict:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    return {
        "wallets": visit(client, "/api/v1/wallets", **auth),
        "authorize": visit(
            client,
            "/api/v1/authorize",
            "post",
            data={"channel": channel_id, "direction": "outbound", "type": "sms"},
            content_type="application/json",
            **auth,
        ),
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    workspace = WorkspaceFactory(name="Replica", slug="replica")
    channel = priced_sms_channel(workspace, balance="10.00")
    owner_user = UserFactory(username="owner")
    MembershipFactory(user=owner_user, workspace=workspace, role=Membership.Role.ADMIN)
    other_admin = UserFactory(username="other-admin")
    MembershipFactory(user=other_admin, workspace=workspace, role=Membership.Role.ADMIN)
    finance = finance_user()
    key = api_key_for(workspace)
    ingest(workspace, channel, 0, 3)
    owner, teammate, finance_client, api_client = Client(), Client(), Client(), Client()
    owner.force_login(owner_user)
    teammate.force_login(other_admin)
    finance_client.force_login(finance)
    wait_for(caught_up, "the replica to catch up after seeding")
    wallet_page = f"/w/{workspace.slug}/settings/billing/wallet/"
    csv = f"/w/{workspace.slug}/settings/billing/sms/usage.csv"
    seen: dict = {"seeded_balance": str(Wallet.objects.get(workspace=workspace, kind="sms").balance)}

    with override_settings(**STALE_AFTER):
        seen["fresh"] = pages(owner, finance_client, workspace.slug)

        # Replay paused: the replica keeps the 3 messages, the primary gets 2 more (charged).
        replica.sql("SELECT pg_wal_replay_pause()", database)
        wait_for(lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()", database)[0] == "paused", "pause")
        ingest(workspace, channel, 3, 2)
        seen["balance_after_writes"] = str(Wallet.objects.get(workspace=workspace, kind="sms").balance)
        wait_for(lambda: replica_state().lag > 1.5, "the replica's lag to pass 1.5 s")
        seen["lagging"] = pages(owner, finance_client, workspace.slug)
        seen["lagging_api"] = api(api_client, key, channel.id)

        # Read your writes: a POST by the owner; the owner's next page reads the primary,
        # another admin of the same workspace still reads the replica.
        seen["owner_post"] = visit(owner, wallet_page, "post")
        seen["owner_after_post"] = visit(owner, wallet_page)
        seen["teammate_after_post"] = visit(teammate, wallet_page)
        with override_settings(REPLICA_READ_YOUR_WRITES_SECONDS=0):
            # Past the window, but the paused replica does not hold the write yet: still the primary.
            seen["owner_after_window"] = visit(owner, wallet_page)

        with override_settings(REPLICA_MAX_LAG_SECONDS=1):
            seen["past_lag_limit"] = pages(owner, finance_client, workspace.slug)

        replica.sql("SELECT pg_wal_replay_resume()", database)
        wait_for(caught_up, "the replica to catch up after resuming")
        seen["resumed"] = visit(teammate, wallet_page)
        with override_settings(REPLICA_READ_YOUR_WRITES_SECONDS=0):
            seen["owner_once_replica_holds_write"] = visit(owner, wallet_page)

    # The replica stops between two lag checks: the process still believes it is up, for
    # the page's reads and then, once restarted and stopped again, for the CSV's.
    with override_settings(REPLICA_LAG_CHECK_SECONDS=3600):
        replica_state_forget()
        seen["before_stop"] = visit(teammate, wallet_page)
        replica.stop()
        seen["stopped_mid_check"] = visit(teammate, wallet_page)
        seen["stopped"] = pages(teammate, finance_client, workspace.slug)
        replica.start()
        wait_for(caught_up, "the restarted replica to catch up")
        replica_state_forget()
        seen["restarted_csv"] = visit(teammate, csv)
        replica.stop()
        seen["stopped_mid_check_csv"] = visit(teammate, csv)
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
