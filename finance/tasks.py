from celery import shared_task

from finance.services import ledger_check_run


@shared_task
def ledger_check() -> bool:
    """Daily: verify the ledger and record the result (a LedgerCheck row) for the dashboard."""
    return ledger_check_run().ok
