"""Usage records in one table or in monthly partitions, at 50M rows: built, then timed side by side.

    python -m bench.partitioning --rows 50000000 --hot 5000000    # ~50 min on 2 shared cores
    python -m bench.partitioning --rows 1000000 --hot 200000      # a quick look

`generate_usage` fills a fresh `<DATABASE_URL name>_benchdata` database with the hot
workspace (`--hot` records over 12 months, its ledger and rollups) and 10,000 other
workspaces; the records are then copied, in SQL, onto the other workspaces (their own
wallets and channels, new message ids, the same times and kinds) until the table holds
`--rows`. `usage_monthly` is the same rows in native monthly partitions with the same
indexes, the unique ones extended by the partition column as PostgreSQL requires, and the
same reference-check statement triggers. Every query then runs on both tables in turn
(single, partitioned, single, ...), so both see the same load; bench/partitioning.md has
the figures and the decision. The database is dropped at the end unless --keep.
"""

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.__main__ import RESULTS, fresh_database, step

SINGLE, MONTHLY = "usage_usagerecord", "usage_monthly"
OTHER_WORKSPACES = 10_000
DELETE_BATCH = 5_000  # usage.archive.DELETE_BATCH: the archive deletes a month by ids, in batches
ARCHIVE_SAMPLE = 20  # batches of the month's delete timed (the whole month takes too long at 50M)
COPIED = (
    "message_type, category, direction, status, country, segments, unit_price, cost, carrier_fee, total,"
    " occurred_at, recorded_at, free_reason, price_list_id, pricing_model, pricing_type, reported_price, tier"
)


def _indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str, bool]]:
    """(name, definition, backs a constraint) of every index of `table`."""
    return conn.execute(
        """SELECT i.indexrelid::regclass::text,
                  coalesce(pg_get_constraintdef(c.oid), pg_get_indexdef(i.indexrelid)), c.oid IS NOT NULL
           FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', 'u')
           WHERE i.indrelid = %s::regclass ORDER BY 1""",
        [table],
    ).fetchall()


def grow(conn: psycopg.Connection, *, rows: int) -> None:
    """Copy the hot workspace's records onto the other workspaces until the table holds `rows`.

    Indexes are dropped for the load and rebuilt after (as a bulk load would), the
    reference triggers are off for it (every copied row names existing rows)."""
    indexes = _indexes(conn, SINGLE)
    conn.execute(f"ALTER TABLE {SINGLE} DISABLE TRIGGER USER")
    for name, _, constraint in indexes:
        conn.execute(f"ALTER TABLE {SINGLE} DROP CONSTRAINT {name}" if constraint else f"DROP INDEX {name}")
    conn.execute(f"CREATE UNLOGGED TABLE seed AS SELECT row_number() OVER (ORDER BY id) AS n, * FROM {SINGLE}")
    hot = conn.execute("SELECT count(*) FROM seed").fetchone()[0]
    conn.execute(
        """CREATE UNLOGGED TABLE others AS
           SELECT row_number() OVER (ORDER BY w.id) - 1 AS n, w.id AS workspace_id, c.id AS channel_id,
                  sms.id AS sms_wallet, wa.id AS whatsapp_wallet
           FROM wallets_workspace w JOIN usage_channel c ON c.workspace_id = w.id
           JOIN wallets_wallet sms ON sms.workspace_id = w.id AND sms.kind = 'sms'
           JOIN wallets_wallet wa ON wa.workspace_id = w.id AND wa.kind = 'whatsapp'
           WHERE w.slug <> 'bench-main'"""
    )
    count = conn.execute("SELECT count(*) FROM others").fetchone()[0]
    remaining, copy = rows - hot, 0
    while remaining > 0:
        take = min(hot, remaining)
        step(
            f"copy {copy + 1}: {take:,} records",
            conn.execute,
            f"""INSERT INTO {SINGLE} (workspace_id, wallet_id, channel_id, message_id, {COPIED})
                SELECT o.workspace_id, CASE s.message_type WHEN 'whatsapp' THEN o.whatsapp_wallet
                       ELSE o.sms_wallet END, o.channel_id, 'c{copy}-' || s.message_id, {COPIED}
                FROM seed s JOIN others o ON o.n = (s.n * 7919 + {copy}) % {count}
                WHERE s.n <= {take}""",
        )
        remaining -= take
        copy += 1
    conn.execute("DROP TABLE seed, others")
    for name, definition, constraint in indexes:
        sql = f"ALTER TABLE {SINGLE} ADD CONSTRAINT {name} {definition}" if constraint else definition
        step(sql[:90], conn.execute, sql)
    conn.execute(f"ALTER TABLE {SINGLE} ENABLE TRIGGER USER")


def partition(conn: psycopg.Connection) -> list[str]:
    """`usage_monthly`: the same columns, rows, indexes and triggers, one partition per month."""
    first, last = conn.execute(
        f"SELECT date_trunc('month', min(occurred_at)), date_trunc('month', max(occurred_at)) FROM {SINGLE}"
    ).fetchone()
    conn.execute(
        f"CREATE TABLE {MONTHLY} (LIKE {SINGLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)"
        " PARTITION BY RANGE (occurred_at)"
    )
    # Through next month: ingest writes "now", and a maintenance task creates each month ahead.
    months = conn.execute(
        "SELECT to_char(m, 'YYYYMM'), m::text, (m + interval '1 month')::text FROM generate_series(%s::timestamptz,"
        " %s::timestamptz + interval '1 month', interval '1 month') m",
        [first, last],
    ).fetchall()
    for suffix, start, end in months:
        conn.execute(f"CREATE TABLE {MONTHLY}_{suffix} PARTITION OF {MONTHLY} FOR VALUES FROM ('{start}') TO ('{end}')")
    step("copy into partitions", conn.execute, f"INSERT INTO {MONTHLY} SELECT * FROM {SINGLE}")
    conn.execute(f"SELECT setval(pg_get_serial_sequence('{MONTHLY}', 'id'), (SELECT max(id) FROM {SINGLE}))")
    for name, definition, constraint in _indexes(conn, SINGLE):
        if constraint:  # PRIMARY KEY (id) / UNIQUE (workspace_id, message_id): + the partition column
            sql = f"ALTER TABLE {MONTHLY} ADD {definition.replace(')', ', occurred_at)', 1)}"
        else:
            sql = definition.replace(f"INDEX {name} ON public.{SINGLE}", f"INDEX {name}_m ON {MONTHLY}")
        step(sql[:90], conn.execute, sql)
    for trigger in ("usage_records_check_inserted", "usage_records_check_updated"):
        definition = conn.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
            [trigger, SINGLE],
        ).fetchone()[0]
        conn.execute(definition.replace(f"ON public.{SINGLE}", f"ON {MONTHLY}"))
    return [suffix for suffix, _, _ in months]


def _size(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(relid)), pg_total_relation_size(%s::regclass))"
        " FROM pg_partition_tree(%s::regclass)",
        [table, table],
    ).fetchone()[0]


class Bench:
    """Each query on both tables in turn, `runs` times; the median and the range in ms."""

    def __init__(self, conn: psycopg.Connection, runs: int) -> None:
        self.conn, self.runs, self.figures = conn, runs, {}

    def time(self, label: str, run: Callable[[str, int], None], *, runs: int | None = None) -> None:
        times: dict[str, list[float]] = {SINGLE: [], MONTHLY: []}
        for attempt in range(runs or self.runs):
            for table in (SINGLE, MONTHLY):
                started = time.perf_counter()
                run(table, attempt)
                times[table].append((time.perf_counter() - started) * 1000)
        self.figures[label] = {t: (statistics.median(v), min(v), max(v)) for t, v in times.items()}
        single, monthly = (self.figures[label][t][0] for t in (SINGLE, MONTHLY))
        print(f"   {label}: single {single:.2f} ms, monthly {monthly:.2f} ms, ratio {monthly / single:.2f}", flush=True)


def measure(conn: psycopg.Connection, *, runs: int, months: list[str]) -> dict:
    conn.execute("SET max_parallel_workers_per_gather = 0")  # as the 10M run: 2 cores shared with the app
    hot_ws, hot_wallet = conn.execute(
        "SELECT w.id, wa.id FROM wallets_workspace w JOIN wallets_wallet wa ON wa.workspace_id = w.id"
        " WHERE w.slug = 'bench-main' AND wa.kind = 'sms'"
    ).fetchone()
    year_start, year_end = conn.execute(
        f"SELECT date_trunc('month', min(occurred_at)), max(occurred_at) FROM {SINGLE} WHERE wallet_id = %s",
        [hot_wallet],
    ).fetchone()
    # Ingest's batch: 1,000 ids of which 500 are recorded (a retried half batch) and 500 new.
    # By message id, the unique index's order: `ORDER BY id DESC` walks the primary key back
    # through every other workspace's rows (minutes at 50M, as the ledger's chain query did).
    known = conn.execute(
        f"SELECT message_id, occurred_at FROM {SINGLE} WHERE workspace_id = %s ORDER BY message_id LIMIT 500",
        [hot_ws],
    ).fetchall()
    bench = Bench(conn, runs)
    page = f"SELECT * FROM {{}} WHERE wallet_id = {hot_wallet} AND occurred_at >= %s AND occurred_at < %s"
    for label, offset in (("page 1 of the one-year range (50 newest)", 0), ("page 100 (offset 4,950)", 4950)):
        sql = page + f" ORDER BY occurred_at DESC, id DESC LIMIT 50 OFFSET {offset}"
        bench.time(label, lambda t, _, sql=sql: conn.execute(sql.format(t), [year_start, year_end]).fetchall())

    def export(table: str, _: int) -> None:
        columns = "occurred_at, channel_id, message_type, category, direction, status, country, segments, total"
        sql = f"COPY (SELECT {columns} FROM {table} WHERE wallet_id = %s AND occurred_at >= %s AND occurred_at < %s"
        with conn.cursor() as cursor, cursor.copy(sql + " ORDER BY occurred_at, id) TO STDOUT WITH (FORMAT csv)",
                                                  [hot_wallet, year_start, year_end]) as copy:  # fmt: skip
            for _ in copy:
                pass

    bench.time("CSV export, hot wallet, one year (COPY)", export, runs=1)  # minutes each at 50M
    one_id = known[0][0]
    bench.time(
        "duplicate check, one message id",
        lambda t, _: conn.execute(
            f"SELECT 1 FROM {t} WHERE workspace_id = %s AND message_id = %s LIMIT 1",
            [hot_ws, one_id],
        ).fetchall(),
    )

    def batch(attempt: int) -> tuple[list[str], list[str]]:
        new = [f"bench-new-{attempt}-{i}" for i in range(500)]
        now = datetime.now(UTC).isoformat()
        return [m for m, _ in known] + new, [o.isoformat() for _, o in known] + [now] * len(new)

    lateral = (
        "SELECT b.message_id FROM ROWS FROM (json_array_elements_text(%s::json), json_array_elements_text(%s::json))"
        " AS b(message_id, occurred_at) CROSS JOIN LATERAL (SELECT 1 FROM {} AS r WHERE r.workspace_id = %s"
        " AND r.message_id = b.message_id {} LIMIT 1) AS found"
    )

    def dedupe(table: str, attempt: int, *, by_month: bool = False) -> int:
        ids, ats = batch(attempt)
        extra = "AND r.occurred_at = b.occurred_at::timestamptz" if by_month else ""
        found = conn.execute(lateral.format(table, extra), [json.dumps(ids), json.dumps(ats), hot_ws]).fetchall()
        assert len(found) == len(known), found
        return len(found)

    bench.time("duplicate check, 1,000 ids (usage_ingest's query)", dedupe)
    bench.time(
        "duplicate check, 1,000 ids, also by occurred_at (prunes)",
        lambda t, a: dedupe(t, a, by_month=t == MONTHLY),
    )

    def insert(table: str, attempt: int) -> None:
        ids, ats = batch(attempt)
        key = "workspace_id, message_id" + (", occurred_at" if table == MONTHLY else "")
        with conn.transaction(force_rollback=True):
            dedupe(table, attempt)
            conn.execute(
                f"""INSERT INTO {table} (workspace_id, wallet_id, channel_id, message_id, occurred_at, recorded_at,
                        message_type, category, direction, status, country, segments, unit_price, cost,
                        carrier_fee, total)
                    SELECT %s, w.wallet_id, w.channel_id, b.message_id, b.occurred_at::timestamptz, now(), 'sms', '',
                        'outbound', 'delivered', 'US', 1, 0.0079, 0.0079, 0.003, 0.0109
                    FROM ROWS FROM (json_array_elements_text(%s::json), json_array_elements_text(%s::json))
                        AS b(message_id, occurred_at),
                        (SELECT wallet_id, channel_id FROM {SINGLE} WHERE workspace_id = %s LIMIT 1) AS w
                    ON CONFLICT ({key}) DO NOTHING""",
                [hot_ws, json.dumps(ids[500:]), json.dumps(ats[500:]), hot_ws],
            )

    bench.time("ingest batch: duplicate check + insert 500 new (rolled back)", insert)

    # Archive the oldest full month, once each (it is gone afterwards): the archive's
    # batched delete by id against dropping the month's partition.
    month = months[1]
    start = datetime.strptime(month, "%Y%m").replace(tzinfo=UTC)
    ids = [
        r[0]
        for r in conn.execute(
            f"SELECT id FROM {SINGLE} WHERE occurred_at >= %s AND occurred_at < %s + interval '1 month'",
            [start, start],
        )
    ]
    # The first ARCHIVE_SAMPLE batches, timed; the month's delete is that rate times its rows.
    sample = ids[: ARCHIVE_SAMPLE * DELETE_BATCH]
    started = time.perf_counter()
    for first in range(0, len(sample), DELETE_BATCH):
        with conn.transaction():
            conn.execute(f"DELETE FROM {SINGLE} WHERE id = ANY(%s)", [sample[first : first + DELETE_BATCH]])
    deleted = (time.perf_counter() - started) * len(ids) / max(len(sample), 1)
    vacuumed = None  # not timed: a VACUUM of the 50M-row table after the delete takes minutes more
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(f"ALTER TABLE {MONTHLY} DETACH PARTITION {MONTHLY}_{month}")
        conn.execute(f"DROP TABLE {MONTHLY}_{month}")
    dropped = time.perf_counter() - started
    print(f"   archive {month} ({len(ids):,} rows): delete {deleted:.1f} s (from {len(sample):,} rows),"
          f" detach + drop {dropped * 1000:.0f} ms", flush=True)  # fmt: skip
    return {
        "queries": bench.figures,
        "archive": {"month": month, "rows": len(ids), "delete_s": deleted, "vacuum_s": vacuumed, "drop_s": dropped},
        "hot_wallet_year_rows": conn.execute(
            f"SELECT count(*) FROM {SINGLE} WHERE wallet_id = %s",
            [hot_wallet],
        ).fetchone()[0],
    }


def _write(*, args: argparse.Namespace, built: dict, sizes: dict, result: dict, load_before, server: str) -> None:
    out = {
        "rows": args.rows, "hot": args.hot, "built": built, "sizes": sizes, **result,
        "load_average": {"before": load_before, "after": os.getloadavg()}, "cpus": os.cpu_count(),
        "server": server,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"partitioning-{args.rows}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"JSON: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.partitioning", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000, help="usage records in all")
    parser.add_argument("--hot", type=int, default=5_000_000, help="records of the hot workspace (generate_usage)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--measure-only", action="store_true", help="time the database a --keep run left")
    args = parser.parse_args()
    base_url = os.environ["DATABASE_URL"]
    if args.measure_only:
        url = base_url.rsplit("/", 1)[0] + "/" + Path(base_url).name + "_benchdata"
        with psycopg.connect(url, autocommit=True) as conn:
            months = [r[0][-6:] for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s::regclass ORDER BY 1", [MONTHLY]).fetchall()]  # fmt: skip
            sizes = {t: _size(conn, t) for t in (SINGLE, MONTHLY)}
            server = conn.execute("SELECT version()").fetchone()[0]
            load_before = os.getloadavg()
            result = step("measure", measure, conn, runs=args.runs, months=months)
        _write(args=args, built={}, sizes=sizes, result=result, load_before=load_before, server=server)
        return
    url = os.environ["DATABASE_URL"] = fresh_database(base_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
    import django
    from django.core.management import call_command

    django.setup()
    load_before = os.getloadavg()
    built = {}
    started = time.perf_counter()
    step("migrate", call_command, "migrate", verbosity=0)
    step(
        f"generate_usage ({args.hot:,} records)",
        call_command,
        "generate_usage",
        rows=args.hot,
        workspaces=OTHER_WORKSPACES,
        numbers=100_000,
        verbosity=0,
    )
    built["generate_usage_s"] = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for label, fn in (("grow", lambda: grow(conn, rows=args.rows)), ("partition", lambda: partition(conn))):
            started = time.perf_counter()
            months = step(label, fn)
            built[f"{label}_s"] = time.perf_counter() - started
        step("vacuum analyze", conn.execute, "VACUUM ANALYZE")
        server = conn.execute("SELECT version()").fetchone()[0]
        sizes = {t: _size(conn, t) for t in (SINGLE, MONTHLY)}
        print(f"   sizes: {sizes}", flush=True)
        result = step("measure", measure, conn, runs=args.runs, months=months)
    _write(args=args, built=built, sizes=sizes, result=result, load_before=load_before, server=server)
    if not args.keep:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{Path(url).name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
