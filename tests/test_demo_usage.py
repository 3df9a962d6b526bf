from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from usage.models import DailyUsageRollup, UsageRecord
from usage.rollups import rollup_rows_from_records
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db


def test_the_demo_usage_goes_through_ingest_so_ledger_and_rollups_agree():
    call_command("seed_demo")

    assert UsageRecord.objects.filter(workspace__slug="acme").count() == 360
    # Globex's texts go on until they use up its SMS credit (US$20 less the US$2 fee).
    assert UsageRecord.objects.filter(workspace__slug="globex").count() > 240
    for wallet in Wallet.objects.select_related("workspace"):
        records = UsageRecord.objects.filter(wallet=wallet).aggregate(total=Sum("total"))["total"]
        charged = WalletTransaction.objects.filter(wallet=wallet, kind__in=["message_charge", "carrier_fee"])
        assert charged.aggregate(total=Sum("amount"))["total"] == -records
        fields = ("channel_id", "day", "message_type", "category", "direction", "status", "messages", "total")
        expected = {tuple(getattr(r, f) for f in fields) for r in rollup_rows_from_records(wallet=wallet)}
        assert set(DailyUsageRollup.objects.filter(wallet=wallet).values_list(*fields)) == expected

    balances = {(w.workspace.slug, w.kind): w.balance for w in Wallet.objects.select_related("workspace")}
    assert Decimal("0") < balances[("globex", "whatsapp")] < Decimal("20")
    assert Decimal("-1") < balances[("globex", "sms")] <= Decimal("0")
    assert balances[("acme", "sms")] > Decimal("100")
