"""Run every benchmark and its limit on a fresh database at a chosen scale; print the tables, write JSON.

    python -m bench --scale small   # a few minutes, for a quick look
    python -m bench --scale full    # 1M records, 10,000 workspaces, 100,000 numbers
    python -m bench --scale huge    # full (ingest over 2M events), then again on 10M records

Each case runs beside its limit (and peer) in the same run, and the first table gives
ours as a fraction of the limit, because absolute rates differ several-fold between
machines of one size. The data lives in its own database (`<DATABASE_URL name>_benchdata`),
dropped and recreated for every pass; DATABASE_URL and REDIS_URL must point at
PostgreSQL and Redis.
"""

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
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
# huge: the full run (ingest over 2M events, for memory), then again on 10M records.
SCALES["huge"] = {**SCALES["full"], "ingest": 2_000_000, "growth_rows": 10_000_000}
RESULTS = Path(__file__).resolve().parent / "results"
CASES = ("page", "export", "authorize", "fees", "hot_wallet", "ingest")


def fresh_database(url: str) -> str:
    """`<name>_benchdata` beside the database of `url`, dropped and made anew; its URL."""
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


@dataclass(frozen=True)
class Target:
    """One ratio the issue sets a bound on (or none: shown for what it explains)."""

    case: str
    against: str
    key: str
    bound: float | None = None
    at_most: bool = False  # memory growth: lower is better

    def text(self) -> str:
        if self.bound is None:
            return "(no target)"
        return f"{'<=' if self.at_most else '>='} {self.bound:.2f}"

    def met(self, value: float | None) -> str:
        if self.bound is None or value is None:
            return "" if self.bound is None else "not run"
        return "met" if (value <= self.bound if self.at_most else value >= self.bound) else "MISSED"


# Every ratio is ours as a fraction of the limit: 1.0 is at the limit, higher is better
# (rates ours / limit, times limit / ours); ratio_to_peer reads the same way.
TARGETS = (
    Target("hot_wallet", "pgbench, the minimal posting (one statement)", "ratio_to_limit", 0.9),
    Target("hot_wallet", "the same pgbench statement on bare tables (no triggers, no FKs)", "ratio_to_bare"),
    Target("hot_wallet", "pgbench calling ledger_post_many(), no Python", "ratio_to_function"),
    Target("hot_wallet", "peer: django-hordak 2.0 transfer_to", "ratio_to_peer", 3.0),
    Target("authorize", "minimal WSGI app, req/s", "ratio_to_limit", 0.9),
    Target("authorize", "minimal WSGI app, p99 (<= 1.2x its p99)", "p99_ratio_to_limit", 1 / 1.2),
    Target("ingest", "COPY into a logged table with the same key and indexes", "ratio_to_limit", 0.35),
    Target("ingest", "one INSERT ... SELECT FROM unnest(...) ON CONFLICT per batch", "ratio_to_insert"),
    Target("ingest", "memory: last quarter's mean RSS / second quarter's", "memory_growth", 1.05, at_most=True),
    Target("export", "plain COPY (SELECT the same columns ...) TO STDOUT", "ratio_to_limit", 0.9),
    Target("page", "the same page, workspace with no usage (p95 <= 1.2x)", "ratio_to_limit", 1 / 1.2),
    Target("page", "its queries' server time (p95 <= 2x)", "ratio_to_sql", 0.5),
    Target("fees", "the set-based SQL statement", "ratio_to_limit", 0.3),
)


def _rate(value: float | None, unit: str = "/s") -> str:
    return f"{value:,.0f}{unit}" if value else "not run (no pgbench)"


def _figures(case: str, r: dict) -> tuple[str, dict[str, str]]:
    """Ours, and each limit or peer of the case by its ratio's key, in the case's own units."""
    if case == "hot_wallet":
        return f"{r['postings_per_s']:,.0f}/s", {
            "ratio_to_limit": _rate(r["limit_per_s"]),
            "ratio_to_bare": _rate(r["bare_per_s"]),
            "ratio_to_function": _rate(r["function_per_s"]),
            "ratio_to_peer": _rate(r["peer_per_s"]),
        }
    if case == "authorize":
        return f"{r['requests_per_s']:,.0f} req/s, p99 {r['p99_ms']:.1f} ms", {
            "ratio_to_limit": f"{r['limit_requests_per_s']:,.0f} req/s",
            "p99_ratio_to_limit": f"p99 {r['limit_p99_ms']:.1f} ms",
        }
    if case == "ingest":
        return f"{r['events_per_s']:,.0f}/s", {
            "ratio_to_limit": f"{r['limit_events_per_s']:,.0f}/s",
            "ratio_to_insert": f"{r['insert_events_per_s']:,.0f}/s",
            "memory_growth": f"RSS {r['rss_second_quarter_mb']:.0f} -> {r['rss_last_quarter_mb']:.0f} MB",
        }
    if case == "export":
        return f"{r['seconds']:.2f} s ({r['rows']:,} rows)", {"ratio_to_limit": f"{r['limit_seconds']:.2f} s"}
    if case == "page":
        return f"p95 {r['p95_ms']:.0f} ms", {
            "ratio_to_limit": f"p95 {r['empty_p95_ms']:.0f} ms",
            "ratio_to_sql": f"{r['sql_ms']:.1f} ms",
        }
    return f"{r['seconds']:.2f} s", {"ratio_to_limit": f"{r['sql_seconds']:.2f} s"}


def ratio_table(results: dict) -> list[tuple[str, ...]]:
    rows, shown_ours = [], set()
    for target in TARGETS:
        if target.case not in results:
            continue
        value = results[target.case].get(target.key)
        ours, limits = _figures(target.case, results[target.case])
        ours = "" if target.case in shown_ours else ours  # once per case
        shown_ours.add(target.case)
        shown = f"{value:.3f}" if value is not None else "-"
        rows.append((target.case, target.against, shown, target.text(), target.met(value), ours, limits[target.key]))
    return rows


def absolute_table(r: dict) -> list[tuple[str, str]]:
    rows = []
    if i := r.get("ingest"):
        rows.append((
            "Usage ingest over HTTP (batches of 1,000, 3 connections)",
            f"{i['events_per_s']:,.0f} events/s over {i['stored']:,}; batch p50 {i['batch_p50_ms']:.0f} ms;"
            f" RSS {i['rss_first_mb']:.0f} -> {i['rss_last_mb']:.0f} MB (max {i['rss_max_mb']:.0f})",
        ))  # fmt: skip
    if a := r.get("authorize"):
        rows.append((
            f"Authorization API (32 connections, {a['load_generator']})",
            f"{a['requests_per_s']:,.0f} req/s; p50 {a['p50_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms;"
            f" {a['errors']} errors",
        ))  # fmt: skip
    if p := r.get("page"):
        rows.append((
            f"SMS wallet page, one year, {p['records']:,} records",
            f"p50 {p['p50_ms']:.0f} ms, p95 {p['p95_ms']:.0f} ms; {p['queries']} queries",
        ))  # fmt: skip
    if e := r.get("export"):
        rows.append((
            f"CSV export of {e['rows']:,} records",
            f"{e['rows_per_s']:,.0f} rows/s; RSS +{e['rss_growth_mb']:.0f} MB",
        ))  # fmt: skip
    if f := r.get("fees"):
        rows.append((f"Monthly fee run, {f['numbers_charged']:,} numbers", f"{f['seconds']:.1f} s"))
    if h := r.get("hot_wallet"):
        rows.append((
            f"Hot wallet, {h['writers']} x {h['postings'] // int(h['writers'].split()[0]):,} postings",
            f"{h['postings_per_s']:,.0f}/s; {h['lost_updates']} lost;"
            f" verify_ledger {h['verify_ledger_problems']} problems",
        ))  # fmt: skip
    return rows


# The growth run compares each case's own figure at 1M and at 10M records, oriented as the
# ratios are (higher is better): a rate 10M / 1M, a time 1M / 10M.
HEADLINE = {
    "ingest": ("events_per_s", True),
    "authorize": ("requests_per_s", True),
    "page": ("p95_ms", False),
    "export": ("rows_per_s", True),
    "fees": ("seconds", False),
    "hot_wallet": ("postings_per_s", True),
}
GROWTH_TARGET = 0.9


def growth(small: dict, large: dict) -> dict:
    out = {}
    for case in small.keys() & large.keys():
        key, higher_better = HEADLINE[case]
        before, after = small[case][key], large[case][key]
        out[case] = {
            "figure": key,
            "at_1m": before,
            "at_10m": after,
            "ratio": after / before if higher_better else before / after,
            "ratio_to_limit_at_1m": small[case].get("ratio_to_limit"),
            "ratio_to_limit_at_10m": large[case].get("ratio_to_limit"),
        }
    return out


def growth_table(grown: dict) -> list[tuple[str, ...]]:
    def ratio(value: float | None) -> str:
        return f"{value:.3f}" if value is not None else "-"

    return [
        (case, g["figure"], f"{g['at_1m']:,.1f}", f"{g['at_10m']:,.1f}", f"{g['ratio']:.3f}", f">= {GROWTH_TARGET}",
         "met" if g["ratio"] >= GROWTH_TARGET else "MISSED",
         f"{ratio(g['ratio_to_limit_at_1m'])} / {ratio(g['ratio_to_limit_at_10m'])}")
        for case, g in sorted(grown.items())
    ]  # fmt: skip


def print_table(header: tuple[str, ...], rows: list[tuple]) -> None:
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def run_cases(*, base_url: str, sizes: dict, rows: int, names: tuple[str, ...], port: int) -> dict:
    """The bench database refilled with `rows` records, then each named case on it."""
    from django.core.management import call_command
    from django.db import connections

    from bench import cases
    from bench.server import ensure_wrk

    connections.close_all()  # a pass before this one had the database open
    fresh_database(base_url)
    step("migrate", call_command, "migrate", verbosity=0)
    step(
        f"generate_usage ({rows:,} records)",
        call_command,
        "generate_usage",
        workspaces=sizes["workspaces"],
        numbers=sizes["numbers"],
        rows=rows,
        months=12,
        verbosity=0,
    )
    # A live database has statistics and a visibility map; freshly COPYed tables have
    # neither, and autovacuum catching up in the middle of a case would time it, not us.
    step("vacuum analyze", _vacuum_analyze)
    run = {
        "page": lambda: cases.wallet_page(runs=sizes["page_runs"]),
        "export": cases.export,
        "authorize": lambda: cases.authorize(wrk=ensure_wrk(), port=port, seconds=sizes["auth_seconds"]),
        "fees": cases.fee_run,
        "hot_wallet": lambda: cases.hot_wallet(writers=sizes["writers"], postings=sizes["postings"]),
        "ingest": lambda: cases.ingest(events=sizes["ingest"], port=port),
    }
    return {name: step(name, run[name]) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--port", type=int, default=8190, help="gunicorn ports (127.0.0.1): this one and the next")
    parser.add_argument("--only", nargs="+", choices=CASES, help="run only these benchmarks (no table or JSON)")
    args = parser.parse_args()
    sizes = SCALES[args.scale]
    names = tuple(args.only or CASES)

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench makes its own database there).")
    base_url = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = fresh_database(base_url)  # Django's settings read it; one name for every pass
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # a log line per request would time the console
    import django

    django.setup()

    started = time.perf_counter()
    results = run_cases(base_url=base_url, sizes=sizes, rows=sizes["rows"], names=names, port=args.port)
    growth_run = None
    if "growth_rows" in sizes:
        at_10m = run_cases(base_url=base_url, sizes=sizes, rows=sizes["growth_rows"], names=names, port=args.port)
        growth_run = {"results_at_10m": at_10m, "growth": growth(results, at_10m)}
    if args.only:
        print(json.dumps({"results": results, **(growth_run or {})}, indent=2, default=str))
        return
    elapsed = time.perf_counter() - started
    ratios, absolute = ratio_table(results), absolute_table(results)
    print(f"\nBench at scale {args.scale} ({elapsed / 60:.1f} min, {os.cpu_count()} CPUs, {platform.platform()})")
    print("\nRatios to the limit measured in the same run (1.0 = at the limit, higher is better)\n")
    print_table(("case", "against", "ratio", "target", "", "ours", "limit or peer, same run"), ratios)
    print("\nAbsolute figures (this machine, this moment)\n")
    print_table(("what", "measured"), absolute)
    if growth_run:
        print(f"\nGrowth from {sizes['rows']:,} to {sizes['growth_rows']:,} records (10M / 1M, higher is better)\n")
        print_table(
            ("case", "figure", "at 1M", "at 10M", "ratio", "target", "", "ratio to limit at 1M / 10M"),
            growth_table(growth_run["growth"]),
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.scale}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "scale": args.scale,
                "sizes": sizes,
                "elapsed_s": elapsed,
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_average": os.getloadavg(),
                "results": results,
                **(growth_run or {}),
                "ratio_table": ratios,
                "table": absolute,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
