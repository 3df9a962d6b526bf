"""Database faults: PostgreSQL drops the connections of clients in the middle of usage ingest
(pg_terminate_backend, again and again). Each client retries the same batch until it gets an
answer, as the platform does; in the end every event is recorded and charged exactly once."""

import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Sum
from django.utils import timezone

from tests.factories import priced_sms_channel, wallet_of
from tests.ops.processes import subprocess_database_url
from usage.models import UsageRecord
from usage.services import usage_ingest
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLIENTS, BATCHES, EVENTS = 3, 6, 100
# Clients go on past BATCHES until the faults have hit this often (ingest is fast enough
# to finish six batches between two of the terminator's sweeps), up to MAX_BATCHES each.
MIN_TERMINATED, MAX_BATCHES = 5, 60
CLIENT_APP = "ingest-fault-client"


def _batch(client: int, batch: int) -> list[dict]:
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    return [
        {
            "id": f"c{client}-b{batch}-e{n}",
            "channel": "+14155550100",
            "type": "sms",
            "direction": "outbound" if n % 4 else "inbound",
            "status": "delivered",
            "country": "US",
            "segments": 1 + n % 2,
            "occurred_at": at,
        }
        for n in range(EVENTS)
    ]


def test_clients_retrying_batches_through_dropped_connections_charge_each_event_once(workspace):
    priced_sms_channel(workspace, balance="5000.00")
    balance_before = wallet_of(workspace, "sms").balance
    retries, batches_sent = Counter(), Counter()
    errors: list[BaseException] = []
    clients_done = threading.Event()
    terminated = 0

    def client(number: int) -> None:
        try:
            batch = 0
            while batch < BATCHES or (terminated < MIN_TERMINATED and batch < MAX_BATCHES):
                events = _batch(number, batch)
                while True:
                    try:
                        with connection.cursor() as cursor:
                            cursor.execute("SET application_name = %s", [CLIENT_APP])
                        usage_ingest(workspace=workspace, events=events)
                        batch += 1
                        batches_sent[number] += 1
                        break
                    except (OperationalError, InterfaceError):
                        retries[number] += 1
                        connection.close()  # the next attempt opens a fresh connection
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def terminator() -> None:
        nonlocal terminated
        with psycopg.connect(subprocess_database_url(), autocommit=True) as admin:
            while not clients_done.is_set():
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s AND state <> 'idle'",
                    [CLIENT_APP],
                ).fetchall()
                terminated += sum(1 for (ok,) in rows if ok)
                time.sleep(0.15)

    killer = threading.Thread(target=terminator)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    killer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    clients_done.set()
    killer.join()

    assert not errors, errors
    assert terminated >= 5, "the fault never hit an ingest"
    records = UsageRecord.objects.filter(workspace=workspace)
    assert records.count() == sum(batches_sent.values()) * EVENTS
    assert records.values("message_id").distinct().count() == records.count()
    ledger = WalletTransaction.objects.filter(wallet=wallet_of(workspace, "sms"))
    charges = ledger.filter(kind__in=["message_charge", "carrier_fee"]).aggregate(s=Sum("amount"))["s"]
    assert -charges == records.aggregate(s=Sum("total"))["s"]
    assert wallet_of(workspace, "sms").balance == balance_before + charges
    assert wallet_of(workspace, "sms").balance < Decimal("5000")
    call_command("verify_ledger")
    print(f"\nDB FAULTS: {terminated} backends terminated, {sum(retries.values())} retried batches, "
          f"{records.count()} events charged once")  # fmt: skip
