"""Notices to a workspace's admins (the members with the billing permission).

Email is sent from a Celery task queued on commit, never inside a database
transaction (a slow SMTP server must not hold a wallet lock).
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from wallets.models import Membership, Workspace


def workspace_admin_emails(*, workspace: Workspace) -> list[str]:
    return sorted(
        Membership.objects.filter(workspace=workspace, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def admins_notify(*, workspace: Workspace, subject: str, body: str) -> None:
    """Queue an email to the workspace admins once the current transaction commits."""
    from wallets.tasks import send_admin_notice

    workspace_id = workspace.id
    transaction.on_commit(lambda: send_admin_notice.delay(workspace_id, subject, body))


def admin_notice_send(*, workspace_id: int, subject: str, body: str) -> int:
    workspace = Workspace.objects.get(pk=workspace_id)
    recipients = workspace_admin_emails(workspace=workspace)
    if not recipients:
        return 0
    return send_mail(f"[{workspace.name}] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients)
