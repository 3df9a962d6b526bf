"""Alert emails: to the admins who want the type and the extra recipients, text and HTML, with the amounts."""

from decimal import Decimal

import pytest
from django.core import mail

from alerts.models import Event
from alerts.services import email_preferences_save, extra_recipient_add
from tests.factories import MembershipFactory, UserFactory, fund, wallet_of
from wallets.models import Membership
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db


def charge(wallet, amount: str, key: str, capture) -> None:
    with capture(execute=True):
        ledger_post(wallet_id=wallet.id, kind="message_charge", amount=-Decimal(amount), idempotency_key=key)


def test_a_low_balance_email_has_the_amounts_the_rule_and_a_link_to_the_wallet(
    workspace, owner, teammate, django_capture_on_commit_callbacks
):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "1234.567891", key="opening")
    wallet.alert_rules.create(threshold=Decimal("1000"))
    charge(wallet, "300.123456", "m1", django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == ["owner@example.com"]  # admins only: the teammate has no billing permission
    assert message.subject == "[Acme] SMS balance below US$1,000.00"
    assert "Your SMS balance is US$934.44, below the US$1,000.00 alert you set." in message.body
    assert "Alert rule: SMS balance below US$1,000.00." in message.body
    assert "http://127.0.0.1:8000/w/acme/settings/billing/wallet/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "<td data-balance>US$934.44</td>" in html
    assert 'href="http://127.0.0.1:8000/w/acme/settings/billing/wallet/"' in html
    assert Event.objects.get(type="wallet.low").emailed_at is not None


def test_an_admin_who_turned_a_type_off_is_not_emailed_and_extra_recipients_are(
    workspace, owner, django_capture_on_commit_callbacks
):
    second = UserFactory(username="second")
    MembershipFactory(user=second, workspace=workspace, role=Membership.Role.ADMIN)
    email_preferences_save(user=owner, workspace=workspace, enabled_types=["wallet.suspended"])
    extra_recipient_add(workspace=workspace, email="Finance@Example.com ")
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "12", key="opening")

    charge(wallet, "12.50", "m1", django_capture_on_commit_callbacks)

    sent = {message.subject: message.to for message in mail.outbox}
    assert sent == {
        "[Acme] SMS balance below US$10.00": ["second@example.com", "finance@example.com"],
        "[Acme] SMS wallet empty: SMS and MMS suspended": [
            "owner@example.com",
            "second@example.com",
            "finance@example.com",
        ],
    }
    suspended = next(m for m in mail.outbox if "suspended" in m.subject)
    assert "Your SMS wallet is empty (-US$0.50): all SMS and MMS, inbound and outbound, are suspended" in suspended.body


def test_a_top_up_email_says_how_much_and_the_new_balance(workspace, owner, django_capture_on_commit_callbacks):
    wallet = wallet_of(workspace, "whatsapp")
    with django_capture_on_commit_callbacks(execute=True):
        ledger_post(wallet_id=wallet.id, kind="top_up", amount=Decimal("250.5"), idempotency_key="checkout:cs_1")
    [message] = mail.outbox
    assert message.subject == "[Acme] US$250.50 added to the WhatsApp wallet"
    assert "US$250.50 was added to the WhatsApp wallet. The balance is now US$250.50." in message.body


def test_an_email_task_run_twice_sends_once(workspace, owner, django_capture_on_commit_callbacks):
    from alerts.tasks import event_email_send

    wallet = wallet_of(workspace, "sms")
    fund(wallet, "11", key="opening")
    charge(wallet, "2", "m1", django_capture_on_commit_callbacks)
    event = Event.objects.get(type="wallet.low")

    assert event_email_send.delay(event.id).get() == 0
    assert len(mail.outbox) == 1
