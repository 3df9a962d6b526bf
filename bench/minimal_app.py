"""The authorization limit: a WSGI app doing only what an authorize call cannot avoid.

One Redis GET (ours reads the API key's cached entry) and one primary-key SELECT
(ours reads the wallet's balance), answered as JSON. Served by the same gunicorn
settings and driven by the same wrk command as /api/v1/authorize, so the gap between
the two is the cost of our code, not of the machine, the server or the network.
"""

import json
import os

import psycopg
import redis

KEY = "bench:minimal-app"
_clients: dict = {}


def _connected() -> tuple[redis.Redis, psycopg.Connection]:
    # One of each per worker process, opened after gunicorn forks, as Django's are.
    if not _clients:
        _clients["redis"] = redis.Redis.from_url(os.environ["REDIS_URL"])
        _clients["pg"] = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _clients["redis"], _clients["pg"]


def application(environ: dict, start_response) -> list[bytes]:
    cache, db = _connected()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    entry = cache.get(KEY)
    row = db.execute("SELECT balance FROM wallets_wallet WHERE id = %s", [int(entry or 0)]).fetchone()
    body = json.dumps({"allowed": row is not None, "balance": str(row[0]) if row else None}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
