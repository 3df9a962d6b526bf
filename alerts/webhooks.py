"""Webhook endpoints and the deliveries to them: signed, at least once, retried with
exponential back-off, given up after DELIVERY_MAX_AGE, the endpoint disabled after
ENDPOINT_DISABLE_AFTER of failures.

A delivery is a row before it is a message: it is created in the transaction that
records its event, queued to a worker after the commit, and picked again by the beat
sweep (`deliveries_due`) if that worker dies or the broker loses the message. An
attempt claims the row for DELIVERY_LEASE under a row lock, makes the HTTP request
outside any transaction, then records the answer.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import urllib3
from django.db import transaction
from django.utils import timezone

from alerts import defaults
from alerts.endpoint_urls import Target, UnsafeEndpoint, endpoint_url_check
from alerts.models import TEST_EVENT_TYPE, Event, EventType, WebhookDelivery, WebhookEndpoint
from alerts.selectors import event_payload, iso_utc, payload_body
from alerts.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, endpoint_secret_new, signature_header
from wallets.models import Workspace
from wallets.notices import admins_notify

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
USER_AGENT = "BillingPortal-Webhooks/1.0"


class EndpointInvalid(Exception):
    """An endpoint that cannot be registered as asked; `field` is what is wrong, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- endpoints ---------------------------------------------------------------------------


def event_types_clean(raw: object) -> list[str]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
        raise EndpointInvalid("event_types", "event_types is a list of event type names (empty for all).")
    unknown = sorted(set(raw) - set(EventType.values))
    if unknown:
        raise EndpointInvalid(
            "event_types", f"Unknown event type(s): {', '.join(unknown)}. Known: {', '.join(EventType.values)}."
        )
    return sorted(set(raw), key=EventType.values.index)


def webhook_endpoint_create(
    *, workspace: Workspace, url: str, event_types: object = None, description: str = "", user=None
) -> WebhookEndpoint:
    """Register an endpoint; the caller shows `secret` once. The URL is checked now (and at every delivery)."""
    types = event_types_clean(event_types)
    try:
        endpoint_url_check(url)
    except UnsafeEndpoint as exc:
        raise EndpointInvalid("url", str(exc)) from exc
    return WebhookEndpoint.objects.create(
        workspace=workspace,
        url=url.strip(),
        event_types=types,
        description=(description or "")[:200],
        secret=endpoint_secret_new(),
        created_by=user,
    )


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, enabled: bool) -> None:
    endpoint.enabled = enabled
    endpoint.disabled_reason = "" if enabled else "Disabled by an admin."
    if enabled:
        endpoint.failing_since = None
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# --- creating deliveries ---------------------------------------------------------------------


def deliveries_create(*, workspace_id: int, events: list[Event]) -> list[WebhookDelivery]:
    """One delivery per event per enabled endpoint of the event's workspace that wants it;
    queued to a worker once the surrounding transaction commits."""
    if not events:
        return []
    endpoints = list(WebhookEndpoint.objects.filter(workspace_id=workspace_id, enabled=True))
    if not endpoints:
        return []
    slug = Workspace.objects.values_list("slug", flat=True).get(pk=workspace_id)
    now = timezone.now()
    rows = [
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            event_type=event.type,
            event_ref=str(event.id),
            body=payload_body(event_payload(event=event, workspace_slug=slug)),
            next_attempt_at=now,
            created_at=now,
        )
        for event in events
        for endpoint in endpoints
        if endpoint.wants(event.type)
    ]
    deliveries = WebhookDelivery.objects.bulk_create(rows)
    _queue_after_commit([delivery.id for delivery in deliveries])
    return deliveries


def _queue_after_commit(delivery_ids: list[int]) -> None:
    from alerts.tasks import webhook_delivery_attempt

    for delivery_id in delivery_ids:
        transaction.on_commit(lambda delivery_id=delivery_id: webhook_delivery_attempt.delay(delivery_id))


def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """The same event (same id, same body) to the same endpoint again, as a new log entry."""
    now = timezone.now()
    again = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        event_type=delivery.event_type,
        event_ref=delivery.event_ref,
        body=delivery.body,
        next_attempt_at=now,
        created_at=now,
        resend_of=delivery,
    )
    _queue_after_commit([again.id])
    return again


def test_event_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` delivery shaped like a real event, so a receiver can be tried out."""
    now = timezone.now()
    ref = f"test_{uuid.uuid4().hex[:16]}"
    payload = {
        "id": ref,
        "type": TEST_EVENT_TYPE,
        "created": iso_utc(now),
        "workspace": endpoint.workspace.slug,
        "data": {"message": "A test event sent from the webhook settings page."},
    }
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type=TEST_EVENT_TYPE,
        event_ref=ref,
        body=payload_body(payload),
        next_attempt_at=now,
        created_at=now,
    )
    _queue_after_commit([delivery.id])
    return delivery


# --- attempting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    code: int | None
    error: str

    @property
    def succeeded(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def backoff_seconds(attempts: int) -> int:
    """Wait after the `attempts`-th failure: doubling from DELIVERY_BACKOFF_BASE, capped."""
    base, cap = defaults.get("DELIVERY_BACKOFF_BASE"), defaults.get("DELIVERY_BACKOFF_MAX")
    return min(cap, base * 2 ** max(0, attempts - 1))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a due pending delivery for one attempt. A second worker (or the sweep) skips
    a row being claimed and finds it not due afterwards: one attempt at a time."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint__workspace")
            .filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.enabled:
            delivery.status, delivery.last_error, delivery.completed_at = Status.FAILED, "Endpoint disabled.", now
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "completed_at", "next_attempt_at"])
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + timedelta(seconds=defaults.get("DELIVERY_LEASE"))
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    return delivery


def _post(target: Target, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to the checked address; TLS still verifies the certificate for the URL's host name.
    Redirects are not followed: a redirect could point anywhere, the check would not."""
    timeout = urllib3.Timeout(
        connect=defaults.get("DELIVERY_CONNECT_TIMEOUT"), read=defaults.get("DELIVERY_READ_TIMEOUT")
    )
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    try:
        with pool:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={"Host": host_header, **headers},
                redirect=False,
                preload_content=False,
            )
            text = response.read(defaults.get("DELIVERY_RESPONSE_KEPT"), decode_content=False)
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    code = response.status
    error = "" if 200 <= code < 300 else f"HTTP {code}: {text.decode('utf-8', 'replace')}"[:500]
    return Answer(code, error)


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt of one delivery, if it is due; returns the delivery as recorded after it."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    try:
        # Again at delivery time: the host may resolve elsewhere than at registration.
        target = endpoint_url_check(endpoint.url)
    except UnsafeEndpoint as exc:
        answer = Answer(None, f"Refused: {exc}")
    else:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(secret=endpoint.secret, body=body),
            EVENT_ID_HEADER: delivery.event_ref,
        }
        answer = _post(target, body=body, headers=headers)
    return _record(delivery, answer)


def _record(delivery: WebhookDelivery, answer: Answer) -> WebhookDelivery:
    now = timezone.now()
    endpoint = delivery.endpoint
    delivery.response_code, delivery.last_error = answer.code, answer.error
    if answer.succeeded:
        delivery.status, delivery.next_attempt_at, delivery.completed_at = Status.SUCCEEDED, None, now
    elif now - delivery.created_at >= timedelta(seconds=defaults.get("DELIVERY_MAX_AGE")):
        delivery.status, delivery.next_attempt_at, delivery.completed_at = Status.FAILED, None, now
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
    with transaction.atomic():
        delivery.save(update_fields=["response_code", "last_error", "status", "next_attempt_at", "completed_at"])
        if answer.succeeded:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(failing_since=None).update(failing_since=None)
        else:
            _endpoint_failure(endpoint_id=endpoint.pk, now=now)
    logger.info(
        "Webhook delivery %s (%s) to endpoint %s: attempt %s, %s",
        delivery.id,
        delivery.event_type,
        endpoint.pk,
        delivery.attempts,
        answer.code or answer.error,
    )
    return delivery


def _endpoint_failure(*, endpoint_id: int, now) -> None:
    """Note when the failures began; after ENDPOINT_DISABLE_AFTER of them, disable and tell the admins."""
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("workspace").get(pk=endpoint_id)
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
        return
    if not endpoint.enabled or now - endpoint.failing_since < timedelta(seconds=defaults.get("ENDPOINT_DISABLE_AFTER")):
        return
    days = (now - endpoint.failing_since).days
    endpoint.enabled = False
    endpoint.disabled_reason = f"Every delivery failed for {days} days."
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.FAILED, next_attempt_at=None, completed_at=now, last_error="Endpoint disabled."
    )
    admins_notify(
        workspace=endpoint.workspace,
        subject=f"Webhook endpoint disabled: {endpoint.url}",
        body=(
            f"Every delivery to {endpoint.url} has failed since {endpoint.failing_since:%d %b %Y %H:%M} UTC, "
            f"so the endpoint was disabled and its pending deliveries given up. Fix the receiver, then enable "
            "the endpoint again on the webhook settings page; events stay available from GET /api/v1/events."
        ),
    )


def deliveries_due(*, limit: int | None = None) -> list[int]:
    """Ids of pending deliveries whose time has come (retries, and any a dead worker left)."""
    limit = limit or defaults.get("DELIVERY_SWEEP_BATCH")
    return list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
