#!/usr/bin/env bash
# Sets everything up and runs the demo: web (gunicorn), Celery worker with beat,
# and the local Stripe stand-in, on PostgreSQL and Redis. Without DATABASE_URL / REDIS_URL
# it starts embedded servers from wheels (billing_portal/embedded.py): PostgreSQL 16 with its
# data in var/pg (kept between runs) and Redis in var/redis. Prints the URL and the logins.
#   bash scripts/demo.sh           run until Ctrl-C
#   bash scripts/demo.sh --smoke   start everything, check it answers, stop (used by CI)
set -euo pipefail
source "$(dirname "$0")/_venv.sh" requirements.txt

if [ -z "${DATABASE_URL:-}" ]; then
  echo "==> starting the embedded PostgreSQL (data in var/pg)"
  DATABASE_URL="$(python -m billing_portal.embedded database "$ROOT/var/pg")"
  export DATABASE_URL
fi
if [ -z "${REDIS_URL:-}" ]; then
  echo "==> starting the embedded Redis (var/redis)"
  REDIS_URL="$(python -m billing_portal.embedded redis "$ROOT/var/redis")"
  export REDIS_URL
fi

PORT="${DEMO_PORT:-8000}"
export SITE_URL="${SITE_URL:-http://127.0.0.1:$PORT}"
LOGS="$ROOT/var/log"
mkdir -p "$LOGS"

echo "==> migrating"
python manage.py migrate --noinput -v0
echo "==> seeding demo data"
logins="$(python manage.py seed_demo)"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

for service in $(python -m billing_portal.demo_services names); do
  python -m billing_portal.demo_services run "$service" >"$LOGS/$service.log" 2>&1 &
  pids+=($!)
done
gunicorn billing_portal.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 4 \
  --access-logfile "$LOGS/web-access.log" --error-logfile "$LOGS/web.log" >"$LOGS/web-app.log" 2>&1 &
pids+=($!)
celery -A billing_portal worker -B -Q billing,notices --pool=solo --loglevel=INFO >"$LOGS/worker.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 60); do
  if python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$SITE_URL/login/" 2>/dev/null; then
    break
  fi
  sleep 1
done

cat <<MSG

  Billing portal demo is running at $SITE_URL/
  Finance (Django admin):            $SITE_URL/admin/
$logins

  Logs: var/log/   Emails (alerts, notices): var/emails/   Stop: Ctrl-C
  Webhook receiver: python manage.py webhook_listen --port 8430 (README, "Demo walkthrough")
MSG

if [ "${1:-}" = "--smoke" ]; then
  python - "$SITE_URL" <<'PY'
import http.cookiejar, re, sys, urllib.parse, urllib.request
base = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
login = opener.open(base + "/login/", timeout=10).read().decode()
assert "Log in" in login, "login page did not render"
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
form = {"username": "acme-admin", "password": "demo-pass-2026", "csrfmiddlewaretoken": token}
home = opener.open(urllib.request.Request(
    base + "/login/", data=urllib.parse.urlencode(form).encode(), headers={"Referer": base + "/login/"}
), timeout=10)
assert "/login/" not in home.geturl(), "the demo login was refused"
wallet = opener.open(base + "/w/acme/settings/billing/wallet/", timeout=10).read().decode()
assert "SMS wallet" in wallet and "US$" in wallet, "the SMS wallet page did not render a balance"
css = opener.open(base + "/static/css/app.css", timeout=10).read()
assert b"--brand" in css, "static files are not served"
print("demo smoke check: logged in as acme-admin, SMS wallet page and static files served")
PY
  sleep 3
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "!! a demo process exited early; see var/log/"; exit 1; }
  done
  echo "demo smoke check: web, worker and every demo service still running"
  exit 0
fi
wait
