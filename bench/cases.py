"""The six benchmarks. Each returns a dict of figures, with its limit (and peer) measured in the same run."""

import json
import multiprocessing
import os
import random
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psutil
import redis
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench import minimal_app
from bench.hordak_peer import hordak_transfers
from bench.server import gunicorn, pgbench_binary, pgbench_run, post_load, tree_rss, wrk_post
from phone_numbers.services import number_fees_bill
from usage.exports import usage_csv_lines
from usage.models import Channel, UsageRecord
from usage.selectors import UsageFilters, one_year_before, workspace_tz
from usage.services import api_key_create
from wallets.models import Membership, Wallet, WalletTransaction, Workspace
from wallets.selectors import ledger_verify
from wallets.services import ledger_post, wallets_ensure

MAIN = "bench-main"
BENCH_DIR = Path(__file__).resolve().parent
BATCH = 1000


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


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


# Columns of the baseline's rows that are not NULL but carry nothing for an SMS.
BASELINE_BLANKS = {"category": "", "pricing_model": "", "pricing_type": "", "free_reason": ""}


def _limit_table(name: str) -> str:
    """A logged table shaped like usage records, with the same unique key, checks and
    indexes (not the foreign keys: those are ours to pay, and the limit's to skip)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TABLE {name} (LIKE {UsageRecord._meta.db_table} INCLUDING ALL)")
    return name


def _ingest_limits(*, workspace: Workspace, channel: Channel, batches: int) -> dict:
    """Two limits for the same rows, each timed without making the rows: COPY, and one
    `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` per batch from Python."""
    fields = [f for f in UsageRecord._meta.concrete_fields if f.column != "id"]
    columns = ", ".join(f.column for f in fields)

    def rows(b: int) -> list[tuple]:
        now = timezone.now().isoformat()
        batch = []
        for e in _events(channel.id, b * BATCH, BATCH, seed=b):
            # By column name: the record's columns change more often than this baseline.
            values = {
                "workspace_id": workspace.id, "wallet_id": 1, "channel_id": channel.id, "message_id": e["id"],
                "message_type": "sms", "direction": e["direction"], "status": "delivered",
                "country": e["country"], "segments": e["segments"], "unit_price": "0.0079",
                "cost": "0.0079", "carrier_fee": "0.003", "total": "0.0109",
                "occurred_at": e["occurred_at"], "recorded_at": now,
            }  # fmt: skip
            batch.append(tuple(values.get(f.column, BASELINE_BLANKS.get(f.column)) for f in fields))
        return batch

    copy_table = _limit_table("bench_copy_limit")
    copy_seconds = 0.0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {copy_table} ({columns}) FROM STDIN") as copy:
        for b in range(batches):
            batch = rows(b)
            started = time.perf_counter()
            for row in batch:
                copy.write_row(row)
            copy_seconds += time.perf_counter() - started
        started = time.perf_counter()
    copy_seconds += time.perf_counter() - started  # the end of COPY: the last rows and their indexes

    insert_table = _limit_table("bench_insert_limit")
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    insert = f"INSERT INTO {insert_table} ({columns}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
    insert_seconds = 0.0
    for b in range(batches):
        batch = rows(b)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(insert, [list(column) for column in zip(*batch, strict=True)])
        insert_seconds += time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {copy_table}, {insert_table}")
    return {"copy_seconds": copy_seconds, "insert_seconds": insert_seconds}


def _quarter_means(samples: list[int]) -> tuple[float, float]:
    """Mean of the second quarter's samples and of the last quarter's (the first quarter is warm-up)."""
    n = len(samples)
    second, last = samples[n // 4 : max(n // 2, n // 4 + 1)], samples[(3 * n) // 4 :]
    return _mean(second), _mean(last)


def ingest(*, events: int, port: int) -> dict:
    workspace, channel, _ = _funded_workspace("bench-ingest", "900000000")
    secret = api_key_create(workspace=workspace, name="bench")[1]
    batches = events // BATCH
    limits = _ingest_limits(workspace=workspace, channel=channel, batches=batches)

    rss: list[int] = []
    every = max(1, batches // 100)
    with gunicorn(port=port) as server:

        def body(i: int) -> bytes | None:
            if i >= batches:
                return None
            if i % every == 0:
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
    rate = stored / load.seconds
    copy_rate, insert_rate = events / limits["copy_seconds"], events / limits["insert_seconds"]
    second_quarter, last_quarter = _quarter_means(rss)
    return {
        "events": events,
        "stored": stored,
        "errors": load.errors,
        "seconds": load.seconds,
        "events_per_s": rate,
        "limit_events_per_s": copy_rate,
        "insert_events_per_s": insert_rate,
        "ratio_to_limit": rate / copy_rate,
        "ratio_to_insert": rate / insert_rate,
        "batch_p50_ms": load.percentile(50),
        "rss_first_mb": rss[0] / 2**20,
        "rss_last_mb": rss[-1] / 2**20,
        "rss_max_mb": max(rss) / 2**20,
        "rss_second_quarter_mb": second_quarter / 2**20,
        "rss_last_quarter_mb": last_quarter / 2**20,
        "memory_growth": last_quarter / second_quarter,
        "rss_samples_mb": [round(sample / 2**20) for sample in rss],
    }


# --- 2. authorization under load -------------------------------------------------------


def _authorize_load(*, wrk: str | None, port: int, body: dict, secret: str, seconds: int) -> dict:
    """The same load for either app: wrk if there is one, else Python threads; 32 connections."""
    if wrk:
        result = wrk_post(
            wrk=wrk, port=port, path="/api/v1/authorize", body=body, auth=f"Bearer {secret}",
            connections=32, seconds=seconds,
        )  # fmt: skip
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
        }
    result["requests_per_s"] = result["requests"] / result["seconds"]
    return result


def authorize(*, wrk: str | None, port: int, seconds: int) -> dict:
    """Ours against bench/minimal_app.py (one Redis GET, one primary-key SELECT) under the
    same gunicorn settings and the same load, in turns A/B/A/B so that a burst from the
    rest of the machine falls on both; each figure is the mean of its two turns."""
    workspace = Workspace.objects.get(slug=MAIN)
    channel = Channel.objects.filter(workspace=workspace, kind=Channel.Kind.SMS).order_by("id").first()
    wallet = Wallet.objects.get(workspace=workspace, kind=Wallet.Kind.SMS)
    secret = api_key_create(workspace=workspace, name="bench-authorize")[1]
    body = {"channel": channel.id, "direction": "outbound", "type": "sms"}
    redis.Redis.from_url(os.environ["REDIS_URL"]).set(minimal_app.KEY, wallet.id)
    # More workers than cores: each spends much of a call waiting on PostgreSQL and Redis.
    settings = {"workers": 2 * (os.cpu_count() or 1) + 1, "threads": 1}
    turns: dict[str, list[dict]] = {"ours": [], "limit": []}
    with gunicorn(port=port, **settings), gunicorn(port=port + 1, app="bench.minimal_app", **settings):
        for _ in range(2):
            for name, at in (("ours", port), ("limit", port + 1)):
                turns[name].append(_authorize_load(wrk=wrk, port=at, body=body, secret=secret, seconds=seconds))
    ours, limit = (
        {key: _mean([turn[key] for turn in runs]) for key in ("requests_per_s", "p50_ms", "p95_ms", "p99_ms")}
        for runs in (turns["ours"], turns["limit"])
    )
    return {
        **ours,
        "errors": sum(turn["errors"] for turn in turns["ours"]),
        "load_generator": "wrk" if wrk else "python threads",
        "limit_requests_per_s": limit["requests_per_s"],
        "limit_p99_ms": limit["p99_ms"],
        "limit_errors": sum(turn["errors"] for turn in turns["limit"]),
        "turns": turns,
        "ratio_to_limit": ours["requests_per_s"] / limit["requests_per_s"],
        "p99_ratio_to_limit": limit["p99_ms"] / ours["p99_ms"],
    }


# --- 3. SMS wallet page over a year ------------------------------------------------------


def _page_times(client: Client, url: str, params: dict, runs: int) -> tuple[list[float], list[dict]]:
    """Sorted response times in ms, and the queries of the last request."""
    assert client.get(url, params).status_code == 200  # warm
    times, queries = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            seconds, response = _timed(lambda: client.get(url, params))
        assert response.status_code == 200
        times.append(seconds * 1000)
        queries = captured.captured_queries
    return sorted(times), queries


def _p95(times: list[float]) -> float:
    return times[min(len(times) - 1, int(len(times) * 0.95))]


def _server_ms(queries: list[dict]) -> float:
    """PostgreSQL's own time for the page's statements: planning plus execution, as
    EXPLAIN ANALYZE reports it, the best of three (the page's runs are warm too), in a
    transaction rolled back so that a write among them leaves nothing behind."""
    total = 0.0
    with transaction.atomic(), connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")):
                continue  # SAVEPOINT and the like: no plan, no time worth a name
            best = float("inf")
            for _ in range(3):
                cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
                plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]
                best = min(best, plan["Planning Time"] + plan["Execution Time"])
            total += best
        transaction.set_rollback(True)
    return total


def wallet_page(*, runs: int) -> dict:
    """The one-year SMS page against two limits: the same page of a workspace with no
    usage (what a request costs whatever the data: middleware, session, template), and
    the server time of the page's own queries (what the data costs at the least)."""
    from django.contrib.auth import get_user_model

    workspace = Workspace.objects.get(slug=MAIN)
    empty, _, _ = _funded_workspace("bench-empty", "100")
    user = get_user_model().objects.create_user("bench-admin", password="x")
    for member_of in (workspace, empty):
        Membership.objects.create(user=user, workspace=member_of, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(user)
    today = timezone.localdate(timezone=timezone.get_fixed_timezone(0))
    params = {"start": one_year_before(today).isoformat(), "end": today.isoformat()}
    times, queries = _page_times(client, reverse("sms_wallet", args=[workspace.slug]), params, runs)
    empty_times, empty_queries = _page_times(client, reverse("sms_wallet", args=[empty.slug]), params, runs)
    sql_ms = _server_ms(queries)
    p95, empty_p95 = _p95(times), _p95(empty_times)
    return {
        "runs": runs,
        "records": UsageRecord.objects.filter(workspace=workspace).count(),
        "p50_ms": times[len(times) // 2],
        "p95_ms": p95,
        "queries": len(queries),
        "empty_p50_ms": empty_times[len(empty_times) // 2],
        "empty_p95_ms": empty_p95,
        "empty_queries": len(empty_queries),
        "sql_ms": sql_ms,
        "ratio_to_limit": empty_p95 / p95,
        "ratio_to_sql": sql_ms / p95,
    }


# --- 4. CSV export ---------------------------------------------------------------------------


# The export's limit: the same record columns in one plain statement, ordered as the file
# is. Not `COPY (the ORM query)`: that took 15 times as long for 5 times the rows (issue 20),
# so a ratio to it meant nothing past 1M. Its plan goes into the JSON (`limit_plan`).
EXPORT_LIMIT_SQL = """
SELECT r.occurred_at, c.display_name, n.number, r.message_id, r.message_type, r.category, r.direction,
       r.status, r.segments, r.unit_price, r.cost, r.carrier_fee, r.total
FROM usage_usagerecord r
JOIN usage_channel c ON c.id = r.channel_id
LEFT JOIN usage_phonenumber n ON n.id = r.phone_number_id
WHERE r.wallet_id = %s AND r.occurred_at >= %s AND r.occurred_at < %s
ORDER BY r.occurred_at, r.id
"""


def export() -> dict:
    wallet = Wallet.objects.select_related("workspace").get(workspace__slug=MAIN, kind=Wallet.Kind.SMS)
    today = timezone.localdate()
    filters = UsageFilters(start=one_year_before(today), end=today, channel=None)

    start, end = filters.bounds(workspace_tz(wallet))
    params = [wallet.id, start, end]
    plan: list[str] = []

    def copy_out() -> int:
        size = 0
        statement = f"COPY ({EXPORT_LIMIT_SQL}) TO STDOUT WITH CSV"
        with transaction.atomic(), connection.cursor() as cursor:
            # The linear plan, whatever the statistics say: the index walk in file order, no
            # sort of the whole range (an incremental sort of equal times only) and no hash.
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
            if not plan:
                cursor.execute(f"EXPLAIN {EXPORT_LIMIT_SQL}", params)
                plan.extend(line for (line,) in cursor.fetchall())
            with cursor.cursor.copy(statement, params) as copy:
                for block in copy:
                    size += len(block)
        return size

    copy_out()  # the plan, and the same warm cache the export then finds
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
        "limit_seconds": copy_seconds,
        "limit_rows_per_s": (rows - 1) / copy_seconds,
        "ratio_to_limit": copy_seconds / seconds,
        "limit_plan": plan,
        "bytes": size,
        "limit_bytes": copy_bytes,
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
        "ratio_to_limit": sql_seconds / seconds,
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


def _ours_hot(*, slug: str, writers: int, postings: int) -> dict:
    _, _, wallets = _funded_workspace(slug, "1000000")
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
    return {
        "seconds": seconds,
        "per_s": total / seconds,
        "lost_updates": (total - rows) + int(after != before - amount * total),
        "errors": failures.value,
    }


def _pgbench_hot(*, pgbench: str, script: str, slug: str, writers: int, postings: int, bare: bool = False) -> dict:
    """pgbench running bench/<script> on a scratch wallet of its own; every posting checked stored.

    `bare`: on copies of the wallet and ledger tables with their keys, checks and indexes
    but none of our triggers or foreign keys, which prices those against the plain posting."""
    _, _, wallets = _funded_workspace(slug, "1000000")
    wallet = wallets[Wallet.Kind.SMS]
    tables = {"wallets": Wallet._meta.db_table, "ledger": WalletTransaction._meta.db_table}
    if bare:
        with connection.cursor() as cursor:
            for name, table in list(tables.items()):
                cursor.execute(f"DROP TABLE IF EXISTS bench_bare_{name}")
                cursor.execute(f"CREATE TABLE bench_bare_{name} (LIKE {table} INCLUDING ALL) WITH (fillfactor = 10)")
                tables[name] = f"bench_bare_{name}"
            cursor.execute("INSERT INTO bench_bare_wallets SELECT * FROM wallets_wallet WHERE id = %s", [wallet.id])
    result = pgbench_run(
        pgbench=pgbench, script=BENCH_DIR / script, url=os.environ["DATABASE_URL"], clients=writers,
        transactions=postings, variables={"wallet": wallet.id, "n": 0, **tables},
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {tables['ledger']} WHERE wallet_id = %s AND kind = 'message_charge'", [wallet.id]
        )
        stored = cursor.fetchone()[0]
        cursor.execute(f"SELECT balance FROM {tables['wallets']} WHERE id = %s", [wallet.id])
        balance = cursor.fetchone()[0]
        if bare:
            cursor.execute("DROP TABLE bench_bare_wallets, bench_bare_ledger")
    expected = Decimal("1000000") - Decimal("0.010000") * writers * postings
    result["lost_updates"] = (writers * postings - stored) + int(balance != expected)
    return result


def hot_wallet(*, writers: int, postings: int) -> dict:
    """Writers are processes, as gunicorn and Celery workers are: threads of one process
    would measure the GIL, not the wallet lock.

    The limit is pgbench running the least a posting can be (bench/hot_wallet_posting.sql:
    one statement, the balance update and the ledger row) on the same tables with the same
    triggers and constraints, with as many clients as we have writers, each posting as
    often. Two more pgbench runs say where a gap comes from: the same statement on bare
    copies of the tables (our triggers and foreign keys), and our posting function with no
    Python around it (the caller). Each runs in turns with ours, twice, and each figure is
    the mean of its two turns. The peer is django-hordak's transfer_to
    (bench/hordak_peer.py) at the same concurrency."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_version = int(cursor.fetchone()[0])
    pgbench = pgbench_binary(server_version)
    sizes = {"writers": writers, "postings": postings}
    runs: dict[str, list[dict]] = {"ours": [], "limit": [], "bare": [], "function": []}
    # In turns, twice, so that a burst from the rest of the machine falls on all of them.
    for turn in range(2):
        runs["ours"].append(_ours_hot(slug=f"bench-hot-{turn}", **sizes))
        if pgbench:
            for name, script, bare in (
                ("limit", "hot_wallet_posting.sql", False),
                ("bare", "hot_wallet_posting.sql", True),
                ("function", "hot_wallet_function.sql", False),
            ):
                slug = f"bench-hot-{name}-{turn}"
                runs[name].append(_pgbench_hot(pgbench=pgbench, script=script, slug=slug, bare=bare, **sizes))
    peer = hordak_transfers(writers=writers, postings=postings, bench_url=os.environ["DATABASE_URL"])
    report = ledger_verify()
    rates = {name: _mean([run["per_s"] for run in runs[name]]) if runs[name] else None for name in runs}
    ours = rates["ours"]

    def ratio(name: str) -> float | None:
        return rates[name] and ours / rates[name]

    return {
        "postings": writers * postings,
        "writers": f"{writers} processes",
        "postings_per_s": ours,
        "lost_updates": sum(run["lost_updates"] for name in runs for run in runs[name]),
        "errors": sum(run["errors"] for run in runs["ours"]),
        "verify_ledger_problems": len(report.problems),
        "ledger_rows_checked": report.transactions_checked,
        "pgbench": pgbench,
        "limit_per_s": rates["limit"],
        "bare_per_s": rates["bare"],
        "function_per_s": rates["function"],
        "peer_per_s": peer["per_s"],
        "peer_errors": peer["errors"],
        "turns": runs,
        "ratio_to_limit": ratio("limit"),
        "ratio_to_bare": ratio("bare"),
        "ratio_to_function": ratio("function"),
        "ratio_to_peer": ours / peer["per_s"],
    }
