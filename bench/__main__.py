"""Run every benchmark on a fresh database at a chosen scale; print the table, write JSON.

    python -m bench --scale small   # about 2 minutes, for a quick look
    python -m bench --scale full    # the issue's scale: 1M records, 10,000 workspaces, 100,000 numbers

The data lives in its own database (`<DATABASE_URL name>_benchdata`), dropped and
recreated on every run; DATABASE_URL and REDIS_URL must point at PostgreSQL and Redis.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

SCALES = {
    "small": {"workspaces": 100, "numbers": 1000, "rows": 20_000, "ingest": 20_000, "auth_seconds": 5,
              "page_runs": 20, "writers": 16, "postings": 50},
    "full": {"workspaces": 10_000, "numbers": 100_000, "rows": 1_000_000, "ingest": 1_000_000, "auth_seconds": 20,
             "page_runs": 50, "writers": 16, "postings": 500},
}  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results"
CASES = ("page", "export", "authorize", "fees", "hot_wallet", "ingest")


def fresh_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench makes its own database there).")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_benchdata"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def step(label: str, fn, *args, **kwargs):
    print(f"-- {label} ...", flush=True)
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"   {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def table(r: dict) -> list[tuple[str, str, str]]:
    i, a, p, e, f, h = (r[k] for k in ("ingest", "authorize", "page", "export", "fees", "hot_wallet"))
    return [
        (
            "Usage ingest over HTTP (batches of 1,000)",
            f"{i['events_per_s']:,.0f} events/s; {i['ratio_to_copy']:.3f} of raw COPY"
            f" ({i['copy_events_per_s']:,.0f}/s);"
            f" RSS {i['rss_first_mb']:.0f} -> {i['rss_last_mb']:.0f} MB (max {i['rss_max_mb']:.0f})"
            f" over {i['stored']:,}",
            ">= 20,000/s, >= 0.10 of COPY, flat memory",
        ),
        (
            "Authorization API (32 connections)",
            f"{a['requests_per_s']:,.0f} req/s; p50 {a['p50_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms"
            f" ({a['errors']} errors)",
            ">= 2,000 req/s, p99 <= 20 ms",
        ),
        (
            f"SMS wallet page, one year, {p['records']:,} records",
            f"p50 {p['p50_ms']:.0f} ms, p95 {p['p95_ms']:.0f} ms; {p['queries']} queries",
            "p95 <= 150 ms, <= 12 queries",
        ),
        (
            f"CSV export of {e['rows']:,} records",
            f"{e['rows_per_s']:,.0f} rows/s; {e['ratio_to_copy']:.2f} of COPY; RSS +{e['rss_growth_mb']:.0f} MB",
            ">= 0.5 of COPY, RSS growth <= 100 MB",
        ),
        (
            f"Monthly fee run, {f['numbers_charged']:,} numbers",
            f"{f['seconds']:.1f} s; set-based SQL {f['sql_seconds']:.2f} s (ratio {f['ratio_to_sql']:.3f})",
            "<= 60 s",
        ),
        (
            f"Hot wallet, {h['postings']:,} postings",
            f"{h['postings_per_s']:,.0f}/s; {h['lost_updates']} lost;"
            f" verify_ledger {h['verify_ledger_problems']} problems",
            ">= 2,000/s, 0 lost, clean",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--port", type=int, default=8190, help="gunicorn port (127.0.0.1)")
    parser.add_argument("--only", nargs="+", choices=CASES, help="run only these benchmarks (no table or JSON)")
    args = parser.parse_args()
    scale = SCALES[args.scale]

    os.environ["DATABASE_URL"] = fresh_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from bench import cases
    from bench.server import ensure_wrk

    started = time.perf_counter()
    step("migrate", call_command, "migrate", verbosity=0)
    step(
        "generate_usage",
        call_command,
        "generate_usage",
        workspaces=scale["workspaces"],
        numbers=scale["numbers"],
        rows=scale["rows"],
        months=12,
        verbosity=0,
    )
    # A live database has statistics and a visibility map; freshly COPYed tables have
    # neither, and autovacuum catching up in the middle of a case would time it, not us.
    step("vacuum analyze", _vacuum_analyze)
    run = {
        "page": lambda: cases.wallet_page(runs=scale["page_runs"]),
        "export": cases.export,
        "authorize": lambda: cases.authorize(wrk=ensure_wrk(), port=args.port, seconds=scale["auth_seconds"]),
        "fees": cases.fee_run,
        "hot_wallet": lambda: cases.hot_wallet(writers=scale["writers"], postings=scale["postings"]),
        "ingest": lambda: cases.ingest(events=scale["ingest"], port=args.port),
    }
    results = {name: step(name, run[name]) for name in args.only or CASES}
    if args.only:
        print(json.dumps(results, indent=2, default=str))
        return
    elapsed = time.perf_counter() - started
    rows = table(results)
    print(f"\nBench at scale {args.scale} ({elapsed / 60:.1f} min, {os.cpu_count()} CPUs, {platform.platform()})")
    print("| what | measured | target |\n|---|---|---|")
    for what, measured, target in rows:
        print(f"| {what} | {measured} | {target} |")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.scale}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "scale": args.scale,
                "sizes": scale,
                "elapsed_s": elapsed,
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "results": results,
                "table": rows,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
