"""Celery tasks for number fees: thin callers of phone_numbers.services, safe to repeat."""

from celery import shared_task

from common.tasks import billing_task_options
from phone_numbers.services import number_fees_bill, number_fees_settle, number_releases_run


@shared_task(**billing_task_options())
def bill_number_fees() -> int:
    """Run hourly by beat so every time zone's midnight is caught; catches up after downtime."""
    return len(number_fees_bill())


@shared_task(**billing_task_options())
def release_due_numbers() -> int:
    return len(number_releases_run())


@shared_task(**billing_task_options())
def settle_number_fees(wallet_id: int) -> int:
    """Queued after a credit to a wallet: pays its unpaid number fees oldest first."""
    return len(number_fees_settle(wallet_id=wallet_id))
