"""The periodic tasks. django-celery-beat's DatabaseScheduler copies these into the
database on start, where finance/ops can see and edit them in the admin."""

BEAT_SCHEDULE: dict[str, dict] = {
    # A missed webhook costs at most this long: paid sessions get credited here.
    "payments-reconcile": {"task": "payments.tasks.reconcile_payments", "schedule": 15 * 60},
}
