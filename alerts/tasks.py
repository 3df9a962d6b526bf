"""Celery tasks of the alerts app: thin callers of services and webhooks, idempotent by
their rows (an event emailed once by `emailed_at`; a delivery attempted only when due)."""

from celery import shared_task

from alerts import services, webhooks
from common.tasks import billing_task_options


@shared_task(**billing_task_options())
def event_email_send(event_id: int) -> int:
    return services.event_email_send(event_id=event_id)


@shared_task(**billing_task_options())
def webhook_delivery_attempt(delivery_id: int) -> str:
    delivery = webhooks.delivery_attempt(delivery_id=delivery_id)
    return "not due" if delivery is None else f"{delivery.status} after {delivery.attempts} attempt(s)"


@shared_task(**billing_task_options())
def webhook_deliveries_due() -> int:
    """Beat: hand every due delivery to a worker; a delivery a killed worker held comes back here."""
    due = webhooks.deliveries_due()
    for delivery_id in due:
        webhook_delivery_attempt.delay(delivery_id)
    return len(due)
