"""The periodic tasks. django-celery-beat's DatabaseScheduler copies these into the
database on start, where finance/ops can see and edit them in the admin."""

from celery.schedules import crontab

from payments import defaults as payments_defaults

BEAT_SCHEDULE: dict[str, dict] = {
    # Hourly: a number bills on its anniversary in its workspace's time zone, and
    # some zone's midnight passes every hour (zones offset by :30 or :45 are caught within the hour).
    "bill-number-fees": {"task": "phone_numbers.tasks.bill_number_fees", "schedule": crontab(minute=5)},
    "release-due-numbers": {"task": "phone_numbers.tasks.release_due_numbers", "schedule": crontab(minute=35)},
    # A missed webhook costs at most this long: paid sessions get credited here.
    "payments-reconcile": {"task": "payments.tasks.reconcile_payments", "schedule": 15 * 60},
    # A wallet below its threshold with nothing in flight (its task lost with a killed
    # worker) gets its auto top-up within this long, not the broker's visibility timeout.
    "payments-auto-top-up-sweep": {
        "task": "payments.tasks.sweep_auto_top_ups",
        "schedule": payments_defaults.DEFAULTS["AUTO_TOP_UP_SWEEP_EVERY"],  # settings are not loaded yet
    },
    # A refund whose webhook never came is posted (or failed) from Stripe's own record here.
    "finance-refunds-reconcile": {"task": "finance.tasks.reconcile_refunds", "schedule": 15 * 60},
    # Daily proof that every balance equals its ledger; the dashboard shows the last result.
    "finance-ledger-check": {"task": "finance.tasks.ledger_check", "schedule": crontab(hour=3, minute=15)},
    # Webhook retries come due here, and so does any delivery a killed worker was holding.
    "alerts-webhook-deliveries-due": {"task": "alerts.tasks.webhook_deliveries_due", "schedule": 60},
}
