"""A throwaway PostgreSQL primary and a streaming replica of it, on loopback ports.

Made from the binaries of the pgserver wheel (initdb, pg_ctl, pg_basebackup, postgres),
which every setup of the suite has, whatever server the tests' own database is on (the
machine's, whose pg_hba may allow no replication, or the embedded one). As root, the
servers run as pgserver's own system user, as the embedded server does: PostgreSQL
refuses to run as root.
"""

import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pgserver
import psycopg
from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

from tests.ops.processes import free_port, wait_until

BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
SYSTEM_USER = "pgserver"  # the user pgserver itself runs PostgreSQL as under root
START_TIMEOUT = 60  # seconds for pg_ctl to see a server accept connections
SERVER_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_connections = 40
shared_buffers = 16MB
# Throwaway data: durability buys nothing here.
fsync = off
full_page_writes = off
"""


def _as_user() -> dict:
    return {"user": SYSTEM_USER} if os.geteuid() == 0 else {}


def _run(*args: object, timeout: float = 120) -> None:
    for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (BIN / name).is_file():
            raise FileNotFoundError(f"{BIN / name} is missing: the pgserver wheel ships it")
    subprocess.run([str(arg) for arg in args], check=True, capture_output=True, timeout=timeout, **_as_user())


@dataclass
class Server:
    data_dir: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = self.data_dir / "server.log"
        _run(BIN / "pg_ctl", "-D", self.data_dir, "-l", log, "-w", "-t", START_TIMEOUT, "start")

    def stop(self) -> None:
        _run(BIN / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop")

    def sql(self, statement: str, database: str = "postgres") -> tuple | None:
        with psycopg.connect(self.url(database), autocommit=True) as db:
            cursor = db.execute(statement)
            return cursor.fetchone() if cursor.description else None


@dataclass
class Cluster:
    base: Path
    primary: Server
    replica: Server

    def caught_up(self) -> bool:
        """The replica has replayed everything the primary had written when asked."""
        (lsn,) = self.primary.sql("SELECT pg_current_wal_lsn()")
        (done,) = self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")
        return done

    def wait_caught_up(self, timeout: float = 30) -> None:
        wait_until(self.caught_up, timeout=timeout, what="the replica to catch up", interval=0.1)

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            if (server.data_dir / "postmaster.pid").exists():
                server.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def cluster_start(database: str) -> Cluster:
    """initdb a primary (replication allowed from loopback), create `database`, then
    pg_basebackup -R it into a standby and start that on another port."""
    # Under /tmp, not pytest's tmp_path: its directories are private to root.
    base = Path(tempfile.mkdtemp(prefix="billing-replica-"))
    if os.geteuid() == 0:
        ensure_user_exists(SYSTEM_USER)
        # What pgserver grants its user before it starts a server: the binaries, their libraries.
        ensure_prefix_permissions(BIN)
        ensure_folder_permissions(BIN, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(BIN.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        shutil.chown(base, SYSTEM_USER, SYSTEM_USER)
    primary, replica = Server(base / "primary", free_port()), Server(base / "replica", free_port())
    _run(BIN / "initdb", "-D", primary.data_dir, "-U", "postgres", "--auth=trust", "--no-sync")
    with open(primary.data_dir / "postgresql.conf", "a") as conf:
        conf.write(SERVER_SETTINGS.format(port=primary.port, socket_dir=base))
    (primary.data_dir / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
    )
    cluster = Cluster(base, primary, replica)
    try:
        primary.start()
        primary.sql(f'CREATE DATABASE "{database}"')
        _run(
            BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", primary.port, "-U", "postgres",
            "-D", replica.data_dir, "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        with open(replica.data_dir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {replica.port}\n")
        replica.start()
        cluster.wait_caught_up()
    except BaseException:
        cluster.stop()
        raise
    return cluster
