"""Backups: a pg_dump of a database holding ledger, usage and top-ups restores with psql
into an empty database where verify_ledger passes and the ledger's guards still hold.
Uses the client binaries of the server's own major version (pg_dump refuses a newer server):
the pgserver wheel's for the throwaway server, else those on PATH; fails when neither matches."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pgserver
import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import WorkspaceFactory, fund, priced_sms_channel, wallet_of
from tests.ops.processes import ROOT, subprocess_database_url
from usage.services import usage_ingest

pytestmark = pytest.mark.django_db(transaction=True)


def _client_bin_dir() -> Path:
    """The directory of a pg_dump whose major version is the server's."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    candidates = [Path(pgserver.__file__).parent / "pginstall" / "bin"]
    if on_path := shutil.which("pg_dump"):
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        version = subprocess.run([directory / "pg_dump", "--version"], capture_output=True, text=True, check=True)
        if int(version.stdout.split()[-1].split(".")[0]) == major:
            return directory
    pytest.fail(f"no pg_dump of PostgreSQL {major} (looked in {', '.join(map(str, candidates))})")


def _admin_run(sql: str) -> None:
    with psycopg.connect(
        urlunsplit(urlsplit(subprocess_database_url())._replace(path="/postgres")), autocommit=True
    ) as db:
        db.execute(sql)


def test_dump_and_restore_keeps_a_ledger_that_verifies(workspace, tmp_path):
    channel = priced_sms_channel(workspace, balance="10.00")
    now = timezone.now().isoformat()
    usage_ingest(
        workspace=workspace,
        events=[
            {"id": f"backup-{n}", "channel": str(channel.id), "type": "sms", "direction": "outbound",
             "status": "delivered", "country": "US", "segments": 1 + n % 2, "occurred_at": now}
            for n in range(25)
        ],
    )  # fmt: skip
    fund(wallet_of(WorkspaceFactory(slug="other"), "whatsapp"), "42.00")
    source = subprocess_database_url()
    restored_name = f"{connection.settings_dict['NAME']}_restore"
    restored = urlunsplit(urlsplit(source)._replace(path="/" + restored_name))
    dump = tmp_path / "billing.sql"
    bin_dir = _client_bin_dir()

    dump_command = [bin_dir / "pg_dump", "--no-owner", "--dbname", source, "--file", str(dump)]
    subprocess.run(dump_command, check=True, timeout=120)
    _admin_run(f'DROP DATABASE IF EXISTS "{restored_name}"')
    _admin_run(f'CREATE DATABASE "{restored_name}"')
    try:
        subprocess.run(
            [bin_dir / "psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", restored, "--file", str(dump)],
            check=True,
            timeout=120,
            capture_output=True,
        )
        verify = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env={"DATABASE_URL": restored, "REDIS_URL": os.environ["REDIS_URL"], "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        with psycopg.connect(restored) as db:
            counts = db.execute(
                "SELECT (SELECT count(*) FROM wallets_wallettransaction), (SELECT count(*) FROM usage_usagerecord),"
                " (SELECT sum(balance) FROM wallets_wallet)"
            ).fetchone()
            # The append-only trigger came back with the data.
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
                db.execute("UPDATE wallets_wallettransaction SET amount = 0")
    finally:
        _admin_run(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')

    assert verify.returncode == 0, verify.stderr
    assert "Ledger OK: 4 wallets, 4 ledger rows checked, 0 problem(s)" in verify.stdout
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM wallets_wallettransaction), (SELECT count(*) FROM usage_usagerecord),"
            " (SELECT sum(balance) FROM wallets_wallet)"
        )
        assert counts == cursor.fetchone()
    assert counts[1] == 25
