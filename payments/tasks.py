from datetime import timedelta

import stripe
from celery import shared_task
from django.utils import timezone

from common.tasks import billing_task_options
from payments import defaults
from payments.selectors import auto_top_up_pending
from payments.services import auto_top_up_charge, auto_top_up_start, auto_top_up_sweep, payments_reconcile


@shared_task(**billing_task_options(stripe.APIConnectionError))
def auto_top_up_run(wallet_id: int) -> int | None:
    """Open the wallet's auto top-up if still needed and charge it; safe to run twice
    (the pending top-up is unique per wallet and its Idempotency-Key is fixed).
    A top-up already open is charged too: its worker may have died before reaching Stripe,
    and this (redelivered) task is the one to finish it."""
    topup = auto_top_up_start(wallet_id=wallet_id) or auto_top_up_pending(wallet_id=wallet_id)
    if topup is None:
        return None
    return auto_top_up_charge(topup_id=topup.id).id


@shared_task(**billing_task_options())
def sweep_auto_top_ups() -> list[int]:
    """Beat: the wallets whose top-up was queued again because nothing was in flight."""
    return auto_top_up_sweep()


@shared_task(**billing_task_options())
def reconcile_payments() -> dict:
    since = timezone.now() - timedelta(hours=defaults.PAYMENTS_RECONCILE_WINDOW_HOURS)
    report = payments_reconcile(since=since)
    if report.listing_error is not None:
        # Every top-up was still handled; failing the task shows the gap in the beat health.
        raise report.listing_error
    return {"credited": report.credited, "flagged": report.flagged, "problems": report.problems}
