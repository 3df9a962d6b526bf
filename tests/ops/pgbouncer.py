"""A real PgBouncer for the tests, and a count of the server connections a database has.

PgBouncer is started from the production config (ops/pgbouncer/pgbouncer.ini), pool mode
and timeouts as they are, with only what a test machine needs changed: a free loopback
port, trust authentication, every database passed through to the test server (TCP or the
embedded server's Unix socket), small pools, logs on stderr. PgBouncer refuses to run as
root, so under root it runs as the owner of the server's socket directory (the embedded
server's data directory admits no one else), or as nobody for a TCP server.
"""

import configparser
import os
import pwd
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.db import connection

from tests.ops.processes import ROOT, free_port, port_open, wait_until

PRODUCTION_CONFIG = ROOT / "ops" / "pgbouncer" / "pgbouncer.ini"
START_TIMEOUT = 15  # seconds


def pgbouncer_binary() -> str:
    """Debian's pgbouncer (scripts/test.sh installs it)."""
    found = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )
    if found is None:
        raise AssertionError("pgbouncer is not installed: install Debian's pgbouncer (scripts/test.sh does, as root)")
    return found


def server_address() -> tuple[str, int]:
    """Host (or socket directory) and port of the server the test database is on."""
    settings_dict = connection.settings_dict
    return settings_dict["HOST"] or "/var/run/postgresql", int(settings_dict["PORT"] or 5432)


class PgBouncer:
    def __init__(self, directory: Path, *, pool_size: int, log_name: str = "pgbouncer.log") -> None:
        self.directory = directory
        self.pool_size = pool_size
        self.port = free_port()
        self.log = directory / log_name
        self.process: subprocess.Popen | None = None

    def config(self) -> configparser.ConfigParser:
        config = configparser.ConfigParser(interpolation=None)
        config.read(PRODUCTION_CONFIG)
        host, port = server_address()
        config["databases"] = {"*": f"host={host} port={port}"}
        users = self.directory / "userlist.txt"
        users.write_text('"postgres" ""\n')
        local = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(users),
            "default_pool_size": str(self.pool_size),
            "max_db_connections": str(self.pool_size),
            "reserve_pool_size": "0",
            "logfile": "",
            "pidfile": "",
        }
        if os.geteuid() == 0:
            owner = os.stat(host).st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
            local["user"] = pwd.getpwuid(owner).pw_name
        config["pgbouncer"].update(local)
        return config

    def start(self) -> "PgBouncer":
        path = self.directory / "pgbouncer.ini"
        with open(path, "w") as ini:
            self.config().write(ini)
        log = open(self.log, "wb")
        self.process = subprocess.Popen([pgbouncer_binary(), str(path)], stdout=log, stderr=subprocess.STDOUT)
        wait_until(
            lambda: port_open("127.0.0.1", self.port) or self.process.poll() is not None,
            timeout=START_TIMEOUT,
            what="PgBouncer to listen",
            interval=0.05,
        )
        assert self.process.poll() is None, self.log.read_text()
        return self

    def url(self, name: str) -> str:
        """A DATABASE_URL for database `name` through this PgBouncer."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{quote(name)}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def direct_conninfo(name: str) -> str:
    """A libpq connection string straight to the server (not through any PgBouncer)."""
    host, port = server_address()
    return psycopg.conninfo.make_conninfo(host=host, port=port, user="postgres", dbname=name)


class ServerConnectionPeak:
    """The most client backends database `name` had at once, sampled from pg_stat_activity on a
    connection of its own (not counted) from start() to stop(), or over a with block; `ignore`
    are other pids not to count."""

    def __init__(self, name: str, *, ignore: tuple[int, ...] = (), interval: float = 0.02) -> None:
        self.name, self.ignore, self.interval = name, list(ignore), interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        with psycopg.connect(direct_conninfo("postgres"), autocommit=True) as watcher:
            while not self._stop.is_set():
                (count,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
                    [self.name, self.ignore],
                ).fetchone()
                self.peak = max(self.peak, count)
                self._stop.wait(self.interval)

    def start(self) -> "ServerConnectionPeak":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "ServerConnectionPeak":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
