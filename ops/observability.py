"""Structured logs and request metrics: every log line is one JSON object carrying the
request id (or Celery task id) and the workspace id it concerns.

The ids live in context variables, so any logger anywhere picks them up without being
passed a request. Log lines never carry card data or API keys: requests are logged by
method, route and status only (no headers, bodies or query strings), and `LogContextFilter`
masks anything shaped like a card number, an API key or a bearer token that a message
might still contain.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

from ops.metrics import HTTP_REQUEST_SECONDS

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
workspace_id_var: ContextVar[int | None] = ContextVar("workspace_id", default=None)

access_logger = logging.getLogger("billing_portal.request")
_STATIC_PREFIX = "/" + settings.STATIC_URL.lstrip("/")

# A proxy's X-Request-ID is kept when it looks like an id, so one id follows a request
# through the load balancer and into our logs; anything else is replaced.
INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SECRETS = (
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[card]"),
    (re.compile(r"\b(bpk|sk|rk|whsec)_[A-Za-z0-9_-]+"), r"\1_[redacted]"),
    (re.compile(r"(?i)\bbearer\s+\S+"), "Bearer [redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class LogContextFilter(logging.Filter):
    """Adds request_id and workspace_id to every record and masks secrets in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.workspace_id = workspace_id_var.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonLogFormatter(JsonFormatter):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(workspace_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)


def _workspace_id_of(request: HttpRequest) -> int | None:
    """The workspace the request acted on, from what the view already loaded (no extra query):
    `workspace_view` sets request.workspace; API views leave their key on the request as `auth`."""
    workspace = getattr(request, "workspace", None)
    if workspace is not None:
        return workspace.id
    return getattr(getattr(request, "auth", None), "workspace_id", None)


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), times it, and writes one access log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if INCOMING_ID.match(incoming) else uuid.uuid4().hex
        tokens = (request_id_var.set(request_id), workspace_id_var.set(None))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            match = request.resolver_match
            # whitenoise answers static files before URL resolution: no route to name.
            route = match.route if match else ("static" if request.path.startswith(_STATIC_PREFIX) else "unmatched")
            workspace_id_var.set(_workspace_id_of(request))
            HTTP_REQUEST_SECONDS.labels(request.method, route, f"{response.status_code // 100}xx").observe(elapsed)
            response["X-Request-ID"] = request_id
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(tokens[0])
            workspace_id_var.reset(tokens[1])


def task_context_bind(task_id: str | None, **kwargs: object) -> None:
    """Celery task_prerun: a task's log lines carry its task id as their request id."""
    request_id_var.set(task_id)
    workspace_id_var.set(None)
