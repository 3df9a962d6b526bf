from celery import shared_task

from wallets.notices import admin_notice_send


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_admin_notice(workspace_id: int, subject: str, body: str) -> int:
    return admin_notice_send(workspace_id=workspace_id, subject=subject, body=body)
