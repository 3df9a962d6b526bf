"""Two workers running the billing task at the same moment, on the real PostgreSQL.

transaction=True: each thread has its own connection and really commits, so the
number row locks and the unique (number, period_start) key are what keep a
period from being charged twice.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connections, transaction

from phone_numbers.services import _locked_number
from phone_numbers.tasks import bill_number_fees
from tests.factories import ChannelFactory, PhoneNumberFactory, UsageRecordFactory, WorkspaceFactory, fund, wallet_of
from usage.models import NumberFeeCharge
from wallets.models import WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 4


def test_concurrent_billing_runs_on_the_same_day_charge_each_period_once():
    workspace = WorkspaceFactory()
    wallet = wallet_of(workspace, "sms")
    channel = ChannelFactory(workspace=workspace)
    numbers = PhoneNumberFactory.create_batch(6, channel=channel, monthly_fee=Decimal("1.150000"))
    # Enough for four of the six 15 Aug fees: two periods must end up unpaid, none charged twice.
    fund(wallet, "4.60")
    start = threading.Barrier(WORKERS)

    def worker(_: int) -> int:
        try:
            start.wait(10)
            return bill_number_fees()
        finally:
            connections.close_all()

    with time_machine.travel(datetime(2026, 8, 15, 12, tzinfo=UTC), tick=False):
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(worker, range(WORKERS)))

    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0")
    assert NumberFeeCharge.objects.filter(phone_number__in=numbers).count() == 6
    assert NumberFeeCharge.objects.filter(status="charged").count() == 4
    assert NumberFeeCharge.objects.filter(status="unpaid").count() == 2
    assert WalletTransaction.objects.filter(wallet=wallet, kind="number_fee").count() == 4
    assert ledger_verify().problems == []


def test_a_number_locked_for_billing_does_not_block_ingest_recording_usage_on_it():
    """Billing locks number then wallet, ingest wallet then number (its records' foreign key):
    the number lock must not conflict with the foreign key check, or the two deadlock."""
    number = PhoneNumberFactory(channel=ChannelFactory(workspace=WorkspaceFactory()))
    locked, release = threading.Event(), threading.Event()

    def biller() -> None:
        try:
            with transaction.atomic():
                _locked_number(number.id)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=biller)
    thread.start()
    try:
        assert locked.wait(10)
        with transaction.atomic(), connections["default"].cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            record = UsageRecordFactory(channel=number.channel, phone_number=number)
    finally:
        release.set()
        thread.join()

    assert record.phone_number_id == number.id
