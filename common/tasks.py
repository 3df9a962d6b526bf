"""Options every billing task shares (the Celery app itself is billing_portal.celery)."""

# A lost database or broker connection is retried with exponential backoff and jitter;
# the task's unique key makes the retry harmless.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError,)


def billing_task_options(*extra_errors: type[Exception]) -> dict:
    from django.db import InterfaceError, OperationalError

    return {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": (*TRANSIENT_ERRORS, OperationalError, InterfaceError, *extra_errors),
        "retry_backoff": True,
        "retry_backoff_max": 300,
        "retry_jitter": True,
        "max_retries": 5,
    }
