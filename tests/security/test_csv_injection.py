"""CSV formula injection: every text column of every export is neutralised, whatever field the
hostile text came through (channel name, number, message id, posting memo), while amounts stay
numbers that a spreadsheet can sum."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import pytest
import time_machine
from django.urls import reverse
from django.utils.module_loading import import_string

from tests.factories import ChannelFactory, PhoneNumberFactory, UsageRecordFactory, wallet_of
from usage.exports import FORMULA_TRIGGERS, HEADER
from usage.rollups import rollups_rebuild
from wallets.models import WalletTransaction
from wallets.services import ledger_post

pytestmark = pytest.mark.django_db

NUMERIC_COLUMNS = {"segments", "unit_price", "cost", "carrier_fee", "total", "wallet_change"}
PAYLOADS = ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]


def _rows(client, workspace, kind: str) -> list[list[str]]:
    url = reverse("usage_export", args=[workspace.slug, kind])
    response = client.get(url, {"start": "2026-11-01", "end": "2026-11-30"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_no_text_cell_of_either_wallets_export_starts_a_formula(owner_client, workspace):
    for n, payload in enumerate(PAYLOADS):
        for kind, channel_kind in (("sms", "sms"), ("whatsapp", "whatsapp_cloud")):
            channel = ChannelFactory(workspace=workspace, kind=channel_kind, display_name=payload)
            if kind == "sms":
                PhoneNumberFactory(channel=channel, number=payload[:16])
            UsageRecordFactory(
                channel=channel,
                message_id=f"{payload}{kind}",
                occurred_at=datetime(2026, 11, 2, n, tzinfo=UTC),
            )
    with time_machine.travel(datetime(2026, 11, 3, tzinfo=UTC), tick=False):
        for kind in ("sms", "whatsapp"):
            for n, payload in enumerate(PAYLOADS):
                for amount in ("-1.25", "2.50"):
                    ledger_post(
                        wallet_id=wallet_of(workspace, kind).id,
                        kind="adjustment",
                        amount=Decimal(amount),
                        idempotency_key=f"adj{amount}:{kind}:{n}",
                        memo=payload,
                        reference=payload,
                    )
    rollups_rebuild()

    assert WalletTransaction.objects.count() == 24
    checked = 0

    for kind in ("sms", "whatsapp"):
        header, *rows = _rows(owner_client, workspace, kind)
        assert header == HEADER
        assert len(rows) == 3 * len(PAYLOADS)  # a message, a charge and a credit per payload
        for row in rows:
            for column, value in zip(header, row, strict=True):
                checked += 1
                if column in NUMERIC_COLUMNS and value:
                    try:
                        Decimal(value)
                    except InvalidOperation:
                        pytest.fail(f"{column}={value!r} is not a number")
                else:
                    assert not value.startswith(FORMULA_TRIGGERS), f"{kind} {column}={value!r}"
    assert checked == 2 * 3 * len(PAYLOADS) * len(HEADER)


RESOURCE_NUMERIC = {"id", "amount", "balance_before", "balance_after", "segments", "unit_price", "cost",
                    "carrier_fee", "total", "monthly_fee", "price", "fee"}  # fmt: skip


@pytest.mark.parametrize(
    "resource_path", ["finance.resources.LedgerEntryResource", "usage.resources.UsageRecordResource"]
)
def test_the_finance_admin_exports_neutralise_formulas_in_every_text_column(workspace, resource_path):
    channel = ChannelFactory(workspace=workspace, kind="sms", display_name=PAYLOADS[0])
    for n, payload in enumerate(PAYLOADS):
        UsageRecordFactory(channel=channel, message_id=f"{payload}{n}")
        ledger_post(
            wallet_id=wallet_of(workspace, "sms").id, kind="adjustment", amount=Decimal("-1.5"),
            idempotency_key=f"{payload}{n}", memo=payload, reference=payload,
        )  # fmt: skip

    dataset = import_string(resource_path)().export()

    assert len(dataset) == len(PAYLOADS)
    for row in dataset.dict:
        for column, value in row.items():
            value = "" if value is None else str(value)
            if column in RESOURCE_NUMERIC and value:
                Decimal(value)
            else:
                assert not value.startswith(FORMULA_TRIGGERS), f"{resource_path} {column}={value!r}"
