"""The hot wallet's peer: django-hordak 2.0's `Account.transfer_to` at the same concurrency.

django-hordak is the double-entry ledger for Django that STYLE.md names as a model; a
posting there is a transaction and two legs, checked by a deferred constraint trigger.
It is not a dependency of the portal, so it lives in a venv of the bench's own
(var/bench-hordak, made on first use), with a database of its own
(`<bench database>_hordak`, migrated on every run: a no-op after the first) and a
settings module the bench writes. This file is both sides: `hordak_transfers()` runs
in the bench, and `python bench/hordak_peer.py WRITERS POSTINGS` runs in that venv.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench-hordak"
# The portal's own Django and psycopg (requirements.txt), so the two differ only in the ledger.
REQUIREMENTS = ("django-hordak==2.0.0", "Django==5.2.19", "psycopg[binary]==3.3.9")
SETTINGS = '''"""Written by bench/hordak_peer.py: the least Django settings django-hordak runs under."""
import os
from urllib.parse import urlsplit

_url = urlsplit(os.environ["HORDAK_DATABASE_URL"])
SECRET_KEY = "bench-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "mptt", "hordak"]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": _url.path.lstrip("/"), "USER": _url.username or "",
    "PASSWORD": _url.password or "", "HOST": _url.hostname or "", "PORT": str(_url.port or ""),
}}
# Our money precision (numeric(18, 6)), so both ledgers store the same numbers.
HORDAK_DECIMAL_PLACES = 6
HORDAK_MAX_DIGITS = 18
DEFAULT_CURRENCY = "USD"
CURRENCIES = ["USD"]
'''


def _python() -> Path:
    """The venv's python, made and filled on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    (VENV / "hordak_bench_settings.py").write_text(SETTINGS)
    return python


def _database(bench_url: str) -> str:
    import psycopg

    parts = urlsplit(bench_url)
    name = parts.path.lstrip("/") + "_hordak"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def hordak_transfers(*, writers: int, postings: int, bench_url: str) -> dict:
    """writers x postings transfers from one account, each in its own transaction."""
    env = {
        **os.environ,
        "HORDAK_DATABASE_URL": _database(bench_url),
        "DJANGO_SETTINGS_MODULE": "hordak_bench_settings",
        "PYTHONPATH": str(VENV),
    }
    out = subprocess.run(
        [str(_python()), __file__, str(writers), str(postings)],
        env=env, capture_output=True, text=True, check=True, timeout=3600,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


# --- the side that runs in the venv -------------------------------------------------------


def _writer(source_id: int, sink_id: int, n: int, postings: int, go, failures) -> None:
    from django.db import connection, transaction
    from djmoney.money import Money
    from hordak.models import Account

    connection.close()  # never the parent's socket
    source, sink = Account.objects.get(pk=source_id), Account.objects.get(pk=sink_id)
    go.wait()
    try:
        for i in range(postings):
            # transfer_to writes three rows; atomic() makes them one posting, as a caller must.
            with transaction.atomic():
                source.transfer_to(sink, Money("0.010000", "USD"), description=f"hot:{n}:{i}")
    except Exception:
        failures.value += 1
        raise
    finally:
        connection.close()


def _run(writers: int, postings: int) -> dict:
    import multiprocessing

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from hordak.models import Account, Leg

    call_command("migrate", verbosity=0)
    tag = time.time_ns()
    source = Account.objects.create(name=f"wallet {tag}", type=Account.TYPES.liability, currencies=["USD"])
    sink = Account.objects.create(name=f"revenue {tag}", type=Account.TYPES.income, currencies=["USD"])
    context = multiprocessing.get_context("fork")
    go, failures = context.Event(), context.Value("i", 0)
    connections.close_all()
    processes = [
        context.Process(target=_writer, args=(source.id, sink.id, n, postings, go, failures)) for n in range(writers)
    ]
    for process in processes:
        process.start()
    time.sleep(1)  # every writer connected and waiting
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - started
    legs = Leg.objects.filter(account=source).count()
    total = writers * postings
    return {"postings": total, "stored": legs, "seconds": seconds, "per_s": legs / seconds, "errors": failures.value}


if __name__ == "__main__":
    print(json.dumps(_run(int(sys.argv[1]), int(sys.argv[2]))))
