"""POST /api/v1/authorize, answered in front of Django when everything about the call is ordinary.

The platform asks before every message, thousands of times a second. Through Django's
middleware and DRF an answer costs about 1.9 ms of CPU; this path costs a fraction of
that: one Redis round trip (a script reading the key's entry, then the route, the
numbers version and the rate-limit count) and one PostgreSQL primary-key read of the
balance, which is never cached. It decides nothing of its own: validation, routes and
the answer are the DRF view's own functions (usage.events, usage.authz_cache, usage.selectors.authorization_decide).

Anything out of the ordinary is handed to Django unchanged, which answers it exactly as
before and warms the entries for the next call: a missing or malformed header or body,
an unknown or revoked key, a key whose last use is due to be recorded, a route not
cached under the current numbers version, a type that does not fit the channel, an
outbound WhatsApp send while the price list wants sends covered by the balance, a call
over its rate (its count travels along, so it is not counted twice) and any database
or Redis error. tests/test_authorize_fast.py checks that both paths answer alike.
"""

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from io import BytesIO

import psycopg
import redis
from csp.utils import build_policy
from django.conf import settings
from django.db import connection

from ops.metrics import HTTP_REQUEST_SECONDS
from ops.observability import INCOMING_ID, access_logger, request_id_var
from usage import authz_cache
from usage import events as ev
from usage.api_auth import FAST_PATH_COUNT
from usage.models import UsageRecord
from usage.selectors import authorization_decide
from usage.services import API_KEY_TOUCH_EVERY, api_key_hash
from wallets.models import Wallet

PATH = "/api/v1/authorize"
ROUTE = "api/v1/authorize"
MAX_BODY = 4096
# The balance, and whether the price list in force wants WhatsApp sends covered by it (then
# Django prices the message: the unique effective_from index makes the second read a probe).
BALANCE_SQL = (
    "SELECT balance, (SELECT whatsapp_authorize_covers_price FROM usage_pricelist WHERE effective_from <= now() "
    "ORDER BY effective_from DESC LIMIT 1) FROM wallets_wallet WHERE id = %s"
)
# What Django's middleware and DRF put on this answer; tests compare the two paths.
HEADERS = [
    ("Content-Type", "application/json"),
    ("Allow", "POST, OPTIONS"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]

logger = logging.getLogger(__name__)


class Handoff(Exception):
    """Not an ordinary call: Django answers it."""


def fast_authorize(django_app: Callable) -> Callable:
    """Wrap the Django WSGI app: ordinary authorize calls are answered here, the rest by Django."""
    throttle = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get("authorize")
    limit = authz_cache.rate_parse(throttle) if throttle else None
    csp = build_policy()  # the Content-Security-Policy django-csp puts on every response

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return django_app(environ, start_response)
        started = time.perf_counter()
        body = _read_body(environ)
        try:
            content = _answer(environ, body, limit)
        except Handoff:
            return django_app(environ, start_response)
        except (psycopg.Error, redis.RedisError, OSError, ValueError):
            logger.warning("authorize fast path handed a call to Django", exc_info=True)
            connection.close()  # Django opens a fresh one
            return django_app(environ, start_response)
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if INCOMING_ID.match(incoming) else uuid.uuid4().hex
        start_response(
            "200 OK",
            [*HEADERS, ("Content-Security-Policy", csp), ("Content-Length", str(len(content))),
             ("X-Request-ID", request_id)],
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        HTTP_REQUEST_SECONDS.labels("POST", ROUTE, "2xx").observe(elapsed)
        if access_logger.isEnabledFor(logging.INFO):
            token = request_id_var.set(request_id)
            access_logger.info(
                "request",
                extra={"method": "POST", "route": ROUTE, "status": 200, "duration_ms": round(elapsed * 1000, 1)},
            )
            request_id_var.reset(token)
        return [content]

    return application


def _read_body(environ: dict) -> bytes:
    """The body, read once; Django is given it again if it has to answer."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return b""  # left unread for Django, which refuses it as it always has
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = BytesIO(body)
    return body


def _answer(environ: dict, body: bytes, limit: tuple[int, int] | None) -> bytes:
    header = environ.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2 or header[0].lower() != "bearer" or not header[1].isascii():
        raise Handoff
    if not environ.get("CONTENT_TYPE", "").startswith("application/json") or not body:
        raise Handoff
    try:
        raw = json.loads(body)
        raw = ev.require_object(raw, field="body")
        ref = ev.clean_channel_ref(raw.get("channel"))
        direction = ev.clean_direction(raw.get("direction"))
        message_type = ev.clean_type(raw.get("type"))
    except (ValueError, RecursionError, ev.FieldError):  # RecursionError: JSON nested too deeply
        raise Handoff from None

    throttle = None
    if limit is not None:
        window, left = authz_cache.throttle_window(limit[1])
        throttle = ("authorize", window, limit[1] + 1)
    found = authz_cache.authorize_lookup(
        key_hash=api_key_hash(header[1]), ref=ref, touch_before=time.time() - API_KEY_TOUCH_EVERY, throttle=throttle
    )
    if found is None:
        raise Handoff
    if limit is not None:
        environ[FAST_PATH_COUNT] = (found.count, left)
        if found.count > limit[0]:
            raise Handoff
    route = found.route
    if route is None or not ev.type_fits_kind(message_type=message_type, channel_kind=route.channel_kind):
        raise Handoff

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        row = cursor.execute(BALANCE_SQL, [route.wallet_id], prepare=True).fetchone()
    if row is None:
        raise Handoff
    if row[1] and route.wallet_kind == Wallet.Kind.WHATSAPP and direction == UsageRecord.Direction.OUTBOUND:
        raise Handoff
    answer = authorization_decide(kind=route.wallet_kind, balance=row[0], released=route.released, direction=direction)
    return json.dumps(
        {"allowed": answer.allowed, "reason": answer.reason, "balance": f"{answer.balance:.6f}"},
        separators=(",", ":"),
    ).encode()
