import pytest
from django.core import mail

from wallets.notices import admins_notify

pytestmark = pytest.mark.django_db


def test_a_notice_reaches_only_the_workspace_admins_after_commit(
    workspace, owner, teammate, outsider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admins_notify(workspace=workspace, subject="Auto top-up failed", body="Update your card.")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]
    assert mail.outbox[0].subject == "[Acme] Auto top-up failed"
