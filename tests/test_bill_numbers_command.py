from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from tests.factories import ChannelFactory, PhoneNumberFactory, fund, wallet_of
from usage.models import NumberFeeCharge
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers(workspace, owner):
    """One number the SMS balance can pay for on 15 Aug, one it cannot (both bought 15 Jul)."""
    channel = ChannelFactory(workspace=workspace)
    fund(wallet_of(workspace, "sms"), "1.15")
    paid = PhoneNumberFactory(channel=channel, number="+14155550101", purchased_at=datetime(2026, 7, 15, tzinfo=UTC))
    short = PhoneNumberFactory(
        channel=channel, number="+14155550102", purchased_at=datetime(2026, 7, 15, 1, tzinfo=UTC)
    )
    return paid, short


def test_bill_numbers_on_a_date_charges_records_unpaid_and_schedules_the_release(
    numbers, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("bill_numbers", "--date", "2026-08-15")
        call_command("bill_numbers", "--date", "2026-09-15")
    out = capsys.readouterr().out
    assert "2026-08-15 +14155550101 charged US$1.15" in out
    assert "2026-08-15 +14155550102 unpaid US$1.15" in out
    assert "2026-10-14 +14155550102 release_scheduled" in out
    paid, short = numbers
    short.refresh_from_db()
    assert short.release_scheduled_for.isoformat() == "2026-10-14"
    assert list(NumberFeeCharge.objects.filter(phone_number=paid).values_list("status", flat=True)) == [
        "charged",
        "unpaid",
    ]
    number_notices = [m.subject for m in mail.outbox if "+1415555010" in m.subject]
    assert len(number_notices) == 3  # first unpaid of each number, then the second of the short one


def test_a_dry_run_prints_what_would_happen_and_writes_nothing(numbers, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("bill_numbers", "--date", "2026-08-15", "--dry-run")
    out = capsys.readouterr().out
    assert "[dry run] would: 2026-08-15 +14155550101 charged US$1.15" in out
    assert "nothing written" in out
    assert NumberFeeCharge.objects.count() == 0
    assert WalletTransaction.objects.filter(kind="number_fee").count() == 0
    assert wallet_of(numbers[0].channel.workspace, "sms").balance == Decimal("1.150000")
    assert mail.outbox == []


def test_a_malformed_date_is_refused(numbers):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("bill_numbers", "--date", "15/08/2026")
    assert NumberFeeCharge.objects.count() == 0
