"""generate_usage writes with COPY behind the ORM's back; the ledger and rollups must still be right."""

import pytest
from django.core.management import CommandError, call_command

from phone_numbers.services import number_fees_bill
from usage.models import DailyUsageRollup, NumberFeeCharge, PhoneNumber, UsageRecord
from usage.rollups import rollups_rebuild
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db

ROLLUP_FIELDS = (
    "wallet_id", "channel_id", "day", "message_type", "category", "direction", "status",
    "messages", "segments", "cost", "carrier_fee", "total",
)  # fmt: skip


def rollups() -> list[tuple]:
    return sorted(DailyUsageRollup.objects.values_list(*ROLLUP_FIELDS))


def generate(**sizes) -> None:
    call_command(
        "generate_usage", verbosity=0, **({"workspaces": 5, "numbers": 30, "rows": 3000, "months": 12} | sizes)
    )


def test_a_small_run_leaves_a_clean_ledger_and_rollups_equal_to_a_rebuild():
    generate()

    assert UsageRecord.objects.count() == 3000
    assert Workspace.objects.count() == 6
    assert PhoneNumber.objects.count() == 20 + 30
    report = ledger_verify()
    assert report.problems == []
    assert report.wallets_checked == 12
    # Every charged record links to its day's posting, and the postings sum to the records.
    for wallet in Wallet.objects.filter(workspace__slug="bench-main"):
        records = UsageRecord.objects.filter(wallet=wallet)
        charged = -sum(
            WalletTransaction.objects.filter(wallet=wallet, kind="message_charge").values_list("amount", flat=True)
        )
        assert charged == sum(records.values_list("cost", flat=True))
        assert not records.filter(cost__gt=0, posting__isnull=True).exists()
    generated = rollups()
    assert generated
    rollups_rebuild()
    assert rollups() == generated


def test_every_generated_number_has_one_fee_due_and_the_fee_run_keeps_the_ledger_clean():
    generate(rows=200)

    events = number_fees_bill()

    assert sum(1 for event in events if event.action == "charged") == 50
    assert NumberFeeCharge.objects.filter(status="charged").count() == 50
    assert ledger_verify().problems == []


def test_a_second_run_into_the_same_database_is_refused():
    generate(rows=10, workspaces=0, numbers=0)
    with pytest.raises(CommandError, match="exists already"):
        generate(rows=10)
    assert UsageRecord.objects.count() == 10


def test_negative_sizes_are_refused():
    with pytest.raises(CommandError, match="--rows must be a positive number"):
        generate(rows=-1)
    assert not Workspace.objects.exists()
