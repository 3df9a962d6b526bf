from celery import shared_task

from common.tasks import billing_task_options
from wallets.notices import admin_notice_send


@shared_task(**billing_task_options())
def send_admin_notice(workspace_id: int, subject: str, body: str) -> int:
    return admin_notice_send(workspace_id=workspace_id, subject=subject, body=body)
