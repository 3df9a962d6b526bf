"""A gunicorn the bench starts and stops itself, and a small load generator for it."""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


@contextmanager
def gunicorn(
    *, port: int, workers: int = 2, threads: int = 1, app: str = "billing_portal.wsgi"
) -> Iterator[psutil.Process]:
    """gunicorn serving `app` on 127.0.0.1:port, no request logging, API rate limits lifted;
    stopped on exit. Every app the bench compares runs under these same settings."""
    env = {
        **os.environ,
        "API_RATE_USAGE": "1000000/min",
        "API_RATE_AUTHORIZE": "1000000/s",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "gunicorn", app,
        "--bind", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--timeout", "120", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/login/")
                conn.getresponse().read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        yield psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tree_rss(process: psutil.Process) -> int:
    """RSS of gunicorn's master and workers, in bytes."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


def post_load(
    *, port: int, path: str, headers: dict, bodies: Callable[[int], bytes | None], connections: int
) -> LoadResult:
    """`connections` keep-alive clients each POST bodies(i) until it returns None (shared counter)."""
    counter = iter(range(10**12))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        mine: list[float] = []
        while True:
            with lock:
                body = bodies(next(counter))
            if body is None:
                break
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(len(latencies), errors[0], time.perf_counter() - started, latencies)


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {auth}
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %f %f %f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def ensure_wrk() -> str | None:
    """wrk from Debian (a C load generator: it leaves the CPU to the server); installed if we can."""
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, check=False)
    return shutil.which("wrk")


def wrk_post(*, wrk: str, port: int, path: str, body: dict, auth: str, connections: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(json.dumps(body)), auth=json.dumps(auth)))
    try:
        out = subprocess.run(
            [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name, f"http://{HOST}:{port}{path}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    requests, errors, micros, p50, p95, p99 = re.search(r"BENCH (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)", out).groups()
    return {
        "requests": int(requests),
        "errors": int(errors),
        "seconds": int(micros) / 1e6,
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
    }


def pgbench_binary(server_version_num: int) -> str | None:
    """A pgbench of the server's major version if there is one (the pgserver wheel ships
    one, Debian's postgresql-contrib another), else any pgbench found."""
    candidates = []
    try:
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall/bin/pgbench")
    except ImportError:
        pass
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    if found := shutil.which("pgbench"):
        candidates.append(Path(found))
    found_any = None
    for candidate in candidates:
        if not candidate.exists():
            continue
        version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False).stdout
        if match := re.search(r"\) (\d+)", version):
            if int(match.group(1)) == server_version_num // 10000:
                return str(candidate)
            found_any = found_any or str(candidate)
    return found_any


def pgbench_run(*, pgbench: str, script: Path, url: str, clients: int, transactions: int, variables: dict) -> dict:
    """`clients` connections each running `script` `transactions` times; pgbench's own rate,
    which leaves out connecting, as the Python writers' rate does."""
    defines = [arg for name, value in variables.items() for arg in ("-D", f"{name}={value}")]
    out = subprocess.run(
        [pgbench, "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
         "-t", str(transactions), *defines, url],
        capture_output=True, text=True, check=True, timeout=3600,
    ).stdout  # fmt: skip
    processed = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    return {"transactions": processed, "per_s": tps}
