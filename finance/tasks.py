from celery import shared_task

from common.tasks import billing_task_options
from finance.services import finance_notice_send, ledger_check_run, refunds_reconcile


@shared_task
def ledger_check() -> bool:
    """Daily: verify the ledger and record the result (a LedgerCheck row) for the dashboard."""
    return ledger_check_run().ok


@shared_task
def reconcile_refunds() -> list[str]:
    """Every 15 minutes: settle refunds left pending (a lost webhook, or a stop mid-request)."""
    return refunds_reconcile()


@shared_task(**billing_task_options())
def send_finance_notice(subject: str, body: str) -> int:
    return finance_notice_send(subject=subject, body=body)
