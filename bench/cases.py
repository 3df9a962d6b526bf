"""The six benchmarks. Each returns a dict of figures, with its baseline measured in the same run."""

import json
import multiprocessing
import os
import random
import time
from datetime import timedelta
from decimal import Decimal

import psutil
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.server import gunicorn, post_load, tree_rss, wrk_post
from phone_numbers.services import number_fees_bill
from usage.exports import usage_csv_lines
from usage.models import Channel, UsageRecord
from usage.selectors import UsageFilters, one_year_before, usage_records
from usage.services import api_key_create
from wallets.models import Membership, Wallet, WalletTransaction, Workspace
from wallets.selectors import ledger_verify
from wallets.services import ledger_post, wallets_ensure

MAIN = "bench-main"
BATCH = 1000


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _funded_workspace(slug: str, amount: str, channel_kind: str = Channel.Kind.SMS) -> tuple[Workspace, Channel, dict]:
    workspace = Workspace.objects.create(name=slug, slug=slug)
    wallets = wallets_ensure(workspace=workspace)
    for kind, wallet in wallets.items():
        ledger_post(wallet_id=wallet.id, kind="top_up", amount=Decimal(amount), idempotency_key=f"bench-fund:{kind}")
    channel = Channel.objects.create(workspace=workspace, kind=channel_kind, display_name=f"{slug} line")
    return workspace, channel, wallets


# --- 1. usage ingest over HTTP ---------------------------------------------------------


def _events(channel_id: int, start: int, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    now = timezone.now()
    return [
        {
            "id": f"ing-{start + i}",
            "channel": channel_id,
            "type": "sms",
            "direction": rng.choice(("outbound", "outbound", "inbound")),
            "status": "delivered",
            "country": rng.choice(("US", "US", "CA", "GB")),
            "segments": rng.choice((1, 1, 2)),
            "occurred_at": (now - timedelta(seconds=rng.randrange(86400))).isoformat(),
        }
        for i in range(count)
    ]


def ingest(*, events: int, port: int) -> dict:
    workspace, channel, _ = _funded_workspace("bench-ingest", "900000000")
    secret = api_key_create(workspace=workspace, name="bench")[1]
    batches = events // BATCH

    # Baseline: a raw COPY of the same rows into a bare table of the same shape.
    columns = [f.column for f in UsageRecord._meta.concrete_fields if f.column != "id"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE UNLOGGED TABLE IF NOT EXISTS bench_copy AS SELECT {', '.join(columns)} "
            f"FROM {UsageRecord._meta.db_table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE bench_copy")

    def copy_rows() -> None:
        now = timezone.now().isoformat()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY bench_copy ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for b in range(batches):
                for e in _events(channel.id, b * BATCH, BATCH, seed=b):
                    copy.write_row(
                        (workspace.id, 1, channel.id, None, e["id"], "sms", "", e["direction"], "delivered",
                         e["country"], e["segments"], "0.0079", "0.0079", "0.003", "0.0109", e["occurred_at"], now,
                         None, None)
                    )  # fmt: skip

    copy_seconds, _ = _timed(copy_rows)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_copy")

    rss: list[int] = []
    with gunicorn(port=port) as server:

        def body(i: int) -> bytes | None:
            if i >= batches:
                return None
            if i % max(1, batches // 20) == 0:
                rss.append(tree_rss(server))
            return json.dumps({"events": _events(channel.id, i * BATCH, BATCH, seed=i)}).encode()

        load = post_load(
            port=port,
            path="/api/v1/usage",
            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            bodies=body,
            connections=3,
        )
        rss.append(tree_rss(server))
    stored = UsageRecord.objects.filter(workspace=workspace).count()
    return {
        "events": events,
        "stored": stored,
        "errors": load.errors,
        "seconds": load.seconds,
        "events_per_s": stored / load.seconds,
        "copy_events_per_s": events / copy_seconds,
        "ratio_to_copy": (stored / load.seconds) / (events / copy_seconds),
        "batch_p50_ms": load.percentile(50),
        "rss_first_mb": rss[0] / 2**20,
        "rss_last_mb": rss[-1] / 2**20,
        "rss_max_mb": max(rss) / 2**20,
        "rss_samples_mb": [round(sample / 2**20) for sample in rss],  # every twentieth of the run
    }


# --- 2. authorization under load -------------------------------------------------------


def authorize(*, wrk: str | None, port: int, seconds: int) -> dict:
    workspace = Workspace.objects.get(slug=MAIN)
    channel = Channel.objects.filter(workspace=workspace, kind=Channel.Kind.SMS).order_by("id").first()
    secret = api_key_create(workspace=workspace, name="bench-authorize")[1]
    body = {"channel": channel.id, "direction": "outbound", "type": "sms"}
    # More workers than cores: each spends much of a call waiting on PostgreSQL and Redis.
    with gunicorn(port=port, workers=2 * (os.cpu_count() or 1) + 1, threads=1):
        if wrk:
            result = wrk_post(
                wrk=wrk, port=port, path="/api/v1/authorize", body=body, auth=f"Bearer {secret}",
                connections=32, seconds=seconds,
            )  # fmt: skip
            result["load_generator"] = "wrk"
        else:
            deadline = time.monotonic() + seconds
            load = post_load(
                port=port,
                path="/api/v1/authorize",
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
                bodies=lambda i: json.dumps(body).encode() if time.monotonic() < deadline else None,
                connections=32,
            )
            result = {
                "requests": load.requests,
                "errors": load.errors,
                "seconds": load.seconds,
                "p50_ms": load.percentile(50),
                "p95_ms": load.percentile(95),
                "p99_ms": load.percentile(99),
                "load_generator": "python threads",
            }
    result["requests_per_s"] = result["requests"] / result["seconds"]
    return result


# --- 3. SMS wallet page over a year ------------------------------------------------------


def wallet_page(*, runs: int) -> dict:
    from django.contrib.auth import get_user_model

    workspace = Workspace.objects.get(slug=MAIN)
    user = get_user_model().objects.create_user("bench-admin", password="x")
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(user)
    today = timezone.localdate(timezone=timezone.get_fixed_timezone(0))
    url = reverse("sms_wallet", args=[workspace.slug])
    params = {"start": one_year_before(today).isoformat(), "end": today.isoformat()}
    assert client.get(url, params).status_code == 200  # warm
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            seconds, response = _timed(lambda: client.get(url, params))
        assert response.status_code == 200
        times.append(seconds * 1000)
        queries = len(captured)
    times.sort()
    records = UsageRecord.objects.filter(workspace=workspace).count()
    return {
        "runs": runs,
        "records": records,
        "p50_ms": times[len(times) // 2],
        "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))],
        "queries": queries,
    }


# --- 4. CSV export ---------------------------------------------------------------------------


def export() -> dict:
    wallet = Wallet.objects.select_related("workspace").get(workspace__slug=MAIN, kind=Wallet.Kind.SMS)
    today = timezone.localdate()
    filters = UsageFilters(start=one_year_before(today), end=today, channel=None)

    # Baseline: COPY of the export's record query, as CSV, read to the end.
    qs = usage_records(wallet=wallet, filters=filters).order_by("occurred_at", "id").values_list(
        "occurred_at", "channel__display_name", "phone_number__number", "message_id", "message_type", "category",
        "direction", "status", "segments", "unit_price", "cost", "carrier_fee", "total",
    )  # fmt: skip
    sql, params = qs.query.sql_with_params()

    def copy_out() -> int:
        size = 0
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV", params) as copy:
            for block in copy:
                size += len(block)
        return size

    copy_seconds, copy_bytes = _timed(copy_out)

    process = psutil.Process()
    rss_start = peak = process.memory_info().rss

    def run() -> tuple[int, int]:
        nonlocal peak
        rows = size = 0
        for piece in usage_csv_lines(wallet=wallet, filters=filters):  # what the download view streams
            # The bench's data has no line breaks inside cells. One byte to count: bytes.count
            # of two (CRLF) took 0.2 s of a million-row export, time the download never spends.
            rows += piece.count(b"\n")
            size += len(piece)
            peak = max(peak, process.memory_info().rss)
        return rows, size

    seconds, (rows, size) = _timed(run)
    peak = max(peak, process.memory_info().rss)
    return {
        "rows": rows - 1,
        "seconds": seconds,
        "rows_per_s": (rows - 1) / seconds,
        "copy_seconds": copy_seconds,
        "ratio_to_copy": copy_seconds / seconds,
        "bytes": size,
        "copy_bytes": copy_bytes,
        "rss_growth_mb": (peak - rss_start) / 2**20,
    }


# --- 5. monthly number fee run ------------------------------------------------------------

SET_BASED_FEES = """
WITH due AS (
    SELECT n.id AS number_id, n.monthly_fee, w.id AS wallet_id, w.balance,
           (n.purchased_at + interval '1 month')::date AS period_start,
           SUM(n.monthly_fee) OVER (PARTITION BY w.id ORDER BY n.id) AS spent
    FROM usage_phonenumber n
    JOIN usage_channel c ON c.id = n.channel_id
    JOIN wallets_wallet w ON w.workspace_id = c.workspace_id AND w.kind = 'sms'
    WHERE n.status = 'active' AND n.monthly_fee > 0 AND c.kind = 'sms'
), posted AS (
    INSERT INTO wallets_wallettransaction
        (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key, created_at)
    SELECT wallet_id, 'number_fee', -monthly_fee, balance - spent + monthly_fee, balance - spent,
           'number:' || number_id, 'Monthly fee', 'number-fee:' || number_id || ':' || period_start, now()
    FROM due ORDER BY wallet_id, number_id
    RETURNING id, wallet_id, idempotency_key
)
INSERT INTO usage_numberfeecharge (phone_number_id, period_start, period_end, amount, status, posting_id, created_at)
SELECT d.number_id, d.period_start, d.period_start + 30, d.monthly_fee, 'charged', p.id, now()
FROM due d JOIN posted p ON p.idempotency_key = 'number-fee:' || d.number_id || ':' || d.period_start
"""


def fee_run() -> dict:
    def set_based() -> int:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(SET_BASED_FEES)
                inserted = cursor.rowcount
            transaction.set_rollback(True)  # only a yardstick: the real run bills the same periods
        return inserted

    sql_seconds, sql_rows = _timed(set_based)
    seconds, events = _timed(lambda: number_fees_bill())
    charged = sum(1 for event in events if event.action == "charged")
    return {
        "numbers_charged": charged,
        "events": len(events),
        "seconds": seconds,
        "sql_seconds": sql_seconds,
        "sql_rows": sql_rows,
        "ratio_to_sql": sql_seconds / seconds,
    }


# --- 6. hot wallet ---------------------------------------------------------------------------


def _hot_writer(wallet_id: int, n: int, postings: int, amount: Decimal, go, failures) -> None:
    """One writer process: its own connection, `postings` ledger_post calls on the one wallet."""
    connection.close()  # never the parent's socket
    connection.ensure_connection()
    go.wait()
    try:
        for i in range(postings):
            ledger_post(wallet_id=wallet_id, kind="message_charge", amount=-amount, idempotency_key=f"hot:{n}:{i}")
    except Exception:
        failures.value += 1
        raise
    finally:
        connection.close()


def hot_wallet(*, writers: int, postings: int) -> dict:
    """Writers are processes, as gunicorn and Celery workers are: threads of one process
    would measure the GIL, not the wallet lock."""
    _, _, wallets = _funded_workspace("bench-hot", "1000000")
    wallet = wallets[Wallet.Kind.SMS]
    amount = Decimal("0.010000")
    before = Wallet.objects.get(pk=wallet.pk).balance
    context = multiprocessing.get_context("fork")
    go, failures = context.Event(), context.Value("i", 0)
    connections.close_all()
    processes = [
        context.Process(target=_hot_writer, args=(wallet.id, n, postings, amount, go, failures)) for n in range(writers)
    ]
    for process in processes:
        process.start()
    time.sleep(1)  # every writer connected and waiting
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - started
    total = writers * postings
    rows = WalletTransaction.objects.filter(wallet=wallet, kind="message_charge").count()
    after = Wallet.objects.get(pk=wallet.pk).balance
    report = ledger_verify()
    return {
        "postings": total,
        "writers": f"{writers} processes",
        "seconds": seconds,
        "postings_per_s": total / seconds,
        "lost_updates": (total - rows) + int(after != before - amount * total),
        "errors": failures.value,
        "verify_ledger_problems": len(report.problems),
        "ledger_rows_checked": report.transactions_checked,
    }
