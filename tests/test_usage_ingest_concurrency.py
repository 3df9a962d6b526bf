"""Two platform retries racing: real threads, real PostgreSQL transactions (hence transaction=True)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from tests.factories import WorkspaceFactory, priced_sms_channel, usage_ingest_concurrently, wallet_of
from usage.models import DailyUsageRollup, UsageRecord
from wallets.models import WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(n: int) -> dict:
    return {
        "id": f"msg-{n}",
        "channel": "+14155550100",
        "type": "sms",
        "direction": "outbound",
        "status": "delivered",
        "country": "US",
        "segments": 1 + n % 3,
        "occurred_at": "2026-11-20T09:30:00Z",
    }


def test_overlapping_batches_sent_at_once_charge_each_message_exactly_once():
    workspace = WorkspaceFactory()
    priced_sms_channel(workspace, balance="100.00")

    accepted = 0
    for round_ in range(4):
        base = round_ * 100
        # Three clients: two overlap by half, the third repeats the first exactly.
        first = [event(n) for n in range(base, base + 60)]
        second = [event(n) for n in range(base + 30, base + 90)]
        results = usage_ingest_concurrently(workspace, [first, second, first], now=NOW)
        assert not [r for r in results if isinstance(r, Exception)], results
        accepted += sum(r.accepted for r in results)
        assert sum(r.accepted + r.duplicates for r in results) == 180

    records = UsageRecord.objects.filter(workspace=workspace)
    assert accepted == records.count() == 4 * 90
    wallet = wallet_of(workspace, "sms")
    charged = WalletTransaction.objects.filter(wallet=wallet, kind__in=["message_charge", "carrier_fee"])
    assert charged.aggregate(s=Sum("amount"))["s"] == -records.aggregate(s=Sum("total"))["s"]
    assert wallet.balance == Decimal("100.00") + charged.aggregate(s=Sum("amount"))["s"]
    rollup = DailyUsageRollup.objects.filter(wallet=wallet).aggregate(m=Sum("messages"), t=Sum("total"))
    assert (rollup["m"], rollup["t"]) == (360, records.aggregate(s=Sum("total"))["s"])
    assert ledger_verify().problems == []
