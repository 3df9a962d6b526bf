#!/usr/bin/env bash
# Sets up and runs the whole test suite on PostgreSQL and Redis.
# DATABASE_URL / REDIS_URL: use those servers. Without them, throwaway servers are started
# from wheels (billing_portal/embedded.py): PostgreSQL 16 under var/pgtest, Redis under
# var/redistest; both keep running between runs, so the next run starts fast.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k ledger`); TEST_WORKERS=0 runs in one process.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" requirements-dev.txt

# Debian packages the tests run: `need PROGRAM PACKAGE WHAT-FOR` installs PACKAGE when PROGRAM is missing.
need() {
  if [ -x "$1" ]; then return; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's $2 for $3"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "!! $1 is missing and this is not root: install Debian's $2 package, then run again"
    exit 1
  fi
}
need /usr/bin/chromium chromium "the browser tests"
need /usr/sbin/pgbouncer pgbouncer "the connection pooler test (tests/ops/test_pgbouncer.py)"

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(python -m billing_portal.embedded database "$ROOT/var/pgtest")"
  export DATABASE_URL
  echo "==> throwaway PostgreSQL at $DATABASE_URL"
fi
if [ -z "${REDIS_URL:-}" ]; then
  REDIS_URL="$(python -m billing_portal.embedded redis "$ROOT/var/redistest")"
  export REDIS_URL
  echo "==> throwaway Redis at $REDIS_URL"
fi

echo "==> ruff"
ruff check .
ruff format --check . || { echo "!! run 'ruff format .'"; exit 1; }

echo "==> pytest"
set +e
# Two xdist workers (one per core); each gets its own test database.
python -m pytest -n "${TEST_WORKERS:-2}" "$@"
status=$?
set -e
if [ "$status" = "5" ]; then
  # No test collected: fine for a filter that matched nothing, a failure for the whole suite.
  if [ "$#" -gt 0 ]; then echo "!! no test matched: $*"; exit 0; fi
  echo "!! pytest collected no tests (exit 5): nothing was tested"
  exit 1
fi
exit "$status"
