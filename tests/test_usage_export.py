"""The usage CSV: exact rows per filter, totals that match the page, formula injection, streaming.

PostgreSQL writes the file (COPY); tests/test_usage_export_paths.py holds it to the bytes Python's
csv module writes."""

import csv
import io
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ChannelFactory, UsageRecordFactory, fund, wallet_of
from tests.usage_data import NOV, sms_month, whatsapp_meta_month
from usage import exports
from usage.rollups import rollups_rebuild
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def month(workspace, other_workspace):
    return sms_month(workspace, other_workspace)


def export(client, workspace, kind="sms", **params):
    return client.get(reverse("usage_export", args=[workspace.slug, kind]), params)


def rows_of(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_lists_each_message_then_number_fees_and_top_ups_of_the_range(owner_client, workspace, month):
    response = export(owner_client, workspace, **NOV)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="acme_sms-wallet_2026-11-01_to_2026-11-30.csv"'
    rows = rows_of(response)
    assert [(r["row_type"], r["message_id"]) for r in rows] == [
        ("message", "nov-1"),
        ("message", "nov-1-late"),
        ("message", "nov-10-uk"),
        ("message", "nov-30-late"),
        ("top_up", ""),
        ("number_fee", ""),
    ]
    first = rows[0]
    assert first == {
        "row_type": "message",
        "date_time": "2026-11-01T07:00:00-05:00",
        "channel": "US line",
        "number": "",
        "message_id": "nov-1",
        "type": "SMS",
        "category": "",
        "direction": "Outbound",
        "status": "Delivered",
        "segments": "2",
        "unit_price": "0.007900",
        "cost": "0.015800",
        "carrier_fee": "0.003000",
        "total": "0.018800",
        "wallet_change": "-0.018800",
        "description": "",
        "price_list": "",  # the pricing columns are WhatsApp's
        "pricing_model": "",
        "pricing_type": "",
        "free_reason": "",
        "tier": "",
        "reported_price": "",
    }
    assert rows[1]["date_time"] == "2026-11-01T22:30:00-05:00"  # New York time (EST since 1 Nov)
    assert (rows[2]["direction"], rows[2]["status"], rows[2]["segments"]) == ("Inbound", "Failed", "3")
    fee = rows[5]
    assert (fee["number"], fee["channel"], fee["total"], fee["wallet_change"]) == (
        "'+14155550100",
        "US line",
        "1.150000",
        "-1.150000",
    )
    assert (rows[4]["wallet_change"], rows[4]["total"]) == ("10.000000", "")


def test_the_csv_totals_equal_the_page_summaries(owner_client, workspace, month):
    for channel in (None, month.us, month.uk):
        params = {**NOV, **({"channel": channel.pk} if channel else {})}
        summary = owner_client.get(reverse("sms_wallet", args=[workspace.slug]), params).context["summary"]
        rows = rows_of(export(owner_client, workspace, **params))
        messages = [r for r in rows if r["row_type"] == "message"]
        fees = [r for r in rows if r["row_type"] == "number_fee"]
        assert len(messages) == summary.messages
        assert sum(int(r["segments"]) for r in messages) == summary.segments
        assert sum(D(r["cost"]) for r in messages) == summary.message_cost
        assert sum(D(r["carrier_fee"]) for r in messages) == summary.carrier_fees
        assert sum(D(r["total"]) for r in fees) == summary.number_fees
        assert sum(D(r["total"]) for r in rows if r["total"]) == summary.total


def test_the_csv_reconciles_with_the_balance_change_over_the_range(owner_client, workspace, month):
    sms = wallet_of(workspace, "sms")
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False):
        fund(sms, "-0.500000", key="goodwill-reversal", kind="adjustment")
        fund(sms, "-2.000000", key="refund", kind="refund")
        fund(sms, "-1.250000", key="chargeback", kind="dispute")
    # 1 Nov 00:00 to 1 Dec 00:00 in New York (EDT, then EST).
    in_range = WalletTransaction.objects.filter(
        wallet=sms,
        created_at__gte=datetime(2026, 11, 1, 4, tzinfo=UTC),
        created_at__lt=datetime(2026, 12, 1, 5, tzinfo=UTC),
    )
    balance_change = in_range.aggregate(change=Sum("amount"))["change"]

    rows = rows_of(export(owner_client, workspace, **NOV))

    assert [r["row_type"] for r in rows][4:] == ["top_up", "number_fee", "adjustment", "refund", "dispute"]
    assert sum(D(r["wallet_change"]) for r in rows) == balance_change == D("5.023600")


def test_the_csv_of_one_channel_has_exactly_that_channels_rows(owner_client, workspace, month):
    response = export(owner_client, workspace, **NOV, channel=month.uk.pk)
    assert response["Content-Disposition"].endswith(f'_2026-11-01_to_2026-11-30_channel-{month.uk.pk}.csv"')
    assert [(r["row_type"], r["message_id"]) for r in rows_of(response)] == [("message", "nov-10-uk")]

    us = rows_of(export(owner_client, workspace, **NOV, channel=month.us.pk))
    assert [(r["row_type"], r["message_id"]) for r in us] == [
        ("message", "nov-1"),
        ("message", "nov-1-late"),
        ("message", "nov-30-late"),
        ("number_fee", ""),
    ]


def test_the_whatsapp_csv_holds_only_whatsapp_messages(owner_client, workspace, month):
    response = export(owner_client, workspace, "whatsapp", **NOV)
    assert response["Content-Disposition"] == 'attachment; filename="acme_whatsapp-wallet_2026-11-01_to_2026-11-30.csv"'
    rows = rows_of(response)
    assert [(r["message_id"], r["type"], r["category"], r["total"]) for r in rows] == [
        ("wa-1", "WhatsApp message", "Marketing", "0.028000")
    ]


def test_the_whatsapp_csv_itemises_what_priced_each_message_and_why_it_was_free(owner_client, workspace):
    whatsapp_meta_month(workspace)

    rows = rows_of(export(owner_client, workspace, "whatsapp", **NOV))

    version = "Per-message WhatsApp pricing, window messages charged (ILLUSTRATIVE)"
    assert [
        (r["message_id"], r["category"], r["pricing_type"], r["free_reason"], r["tier"], r["unit_price"], r["cost"])
        for r in rows
    ] == [
        ("mkt-1", "Marketing", "regular", "", "1", "0.052900", "0.052900"),
        ("mkt-2", "Marketing", "regular", "", "1", "0.052900", "0.052900"),
        ("mkt-entry", "Marketing", "free_entry_point", "free_entry_point", "1", "0.052900", "0.000000"),
        ("mkt-failed", "Marketing", "regular", "failed", "1", "0.052900", "0.000000"),
        ("auth-1", "Authentication", "regular", "", "1", "0.035800", "0.035800"),
        ("svc-entry", "Service", "free_entry_point", "free_entry_point", "1", "0.000000", "0.000000"),
    ]
    assert {(r["price_list"], r["pricing_model"]) for r in rows} == {(version, "per_message")}
    assert sum(1 for r in rows if r["free_reason"]) == 3


def test_formula_injection_is_neutralised_and_amounts_stay_numbers(owner_client, workspace):
    channel = ChannelFactory(workspace=workspace, display_name='=HYPERLINK("http://evil","x")')
    for n, message_id in enumerate(["@SUM(A1)", "+1+1", "-2+3", "\tcmd", "\rcmd", "plain"]):
        UsageRecordFactory(channel=channel, message_id=message_id, occurred_at=datetime(2026, 11, 2, n, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 11, 3, tzinfo=UTC), tick=False):
        fund(wallet_of(workspace, "sms"), "-3.250000", key="adj", kind="adjustment")
    rollups_rebuild()

    rows = rows_of(export(owner_client, workspace, **NOV))

    assert {r["channel"] for r in rows[:6]} == {'\'=HYPERLINK("http://evil","x")'}
    assert [r["message_id"] for r in rows[:6]] == ["'@SUM(A1)", "'+1+1", "'-2+3", "'\tcmd", "'\rcmd", "plain"]
    assert rows[0]["wallet_change"] == "-0.010900"  # a negative amount is a number, not a formula
    adjustment = rows[6]
    assert (adjustment["row_type"], adjustment["wallet_change"], adjustment["description"]) == (
        "adjustment",
        "-3.250000",
        "test funding",
    )


def test_memos_that_look_like_formulas_are_neutralised():
    assert exports.cell("=1+2") == "'=1+2"
    assert exports.cell("-cmd|' /C calc'!A0") == "'-cmd|' /C calc'!A0"
    assert exports.cell(D("-1.150000")) == D("-1.150000")
    assert exports.cell(-3) == -3
    assert exports.cell("Top-up") == "Top-up"


def test_the_export_streams_copy_output_a_chunk_at_a_time(owner_client, workspace, month, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for n in range(7):
        UsageRecordFactory(channel=month.us, occurred_at=datetime(2026, 11, 3, n, tzinfo=UTC))
    response = export(owner_client, workspace, **NOV)
    assert isinstance(response, StreamingHttpResponse)
    pieces = iter(response.streaming_content)

    # CaptureQueriesContext also runs the export through Django's debug cursor.
    with CaptureQueriesContext(connection) as queries:
        assert next(pieces).startswith(b"row_type,date_time")
        assert len(queries) == 0  # nothing is read before the body is consumed
        message_pieces = [next(pieces) for _ in range(6)]  # 4 + 7 messages, 2 lines a piece
        assert len(queries) == 1  # the ledger's COPY starts only once the messages are out
        ledger_pieces = list(pieces)

    assert [query["sql"][:6] for query in queries] == ["COPY (", "COPY ("]
    assert [piece.count(b"\r\n") for piece in message_pieces] == [2, 2, 2, 2, 2, 1]
    assert [piece.count(b"\r\n") for piece in ledger_pieces] == [2]  # the top-up and the number fee
    assert all(piece.startswith(b"message,") for piece in message_pieces)


def test_bad_filters_send_the_export_back_to_the_page_that_explains_them(owner_client, workspace, month):
    response = export(owner_client, workspace, start="2020-01-01", end="2026-11-30")
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/billing/wallet/?start=2020-01-01&end=2026-11-30"

    response = export(owner_client, workspace, "whatsapp", **NOV, channel=month.us.pk)
    assert response.status_code == 302
    assert response["Location"].startswith("/w/acme/settings/billing/whatsapp/?")


def test_an_unknown_wallet_kind_is_404(owner_client, workspace):
    # The URL's converter refuses it (tests/security/test_url_parts.py tries more junk).
    assert owner_client.get(f"/w/{workspace.slug}/settings/billing/email/usage.csv").status_code == 404
    assert Wallet.objects.filter(workspace=workspace).count() == 2


def test_staff_and_outsiders_cannot_export(client, teammate, outsider, workspace, month):
    client.force_login(teammate)
    assert export(client, workspace, **NOV).status_code == 403
    client.force_login(outsider)
    assert export(client, workspace, **NOV).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_top_up_committed_while_the_messages_stream_out_is_not_half_in_the_file(owner_client, workspace, month):
    response = export(owner_client, workspace, **NOV)
    pieces = iter(response.streaming_content)
    assert next(pieces).startswith(b"row_type,date_time")
    assert next(pieces).startswith(b"message,")  # the first COPY is reading: the file's moment is set

    def top_up_elsewhere() -> None:  # another request's connection, committed before the ledger part is read
        try:
            with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False):  # inside the range
                fund(wallet_of(workspace, "sms"), "7.00", key="mid-export", kind="top_up")
        finally:
            connection.close()

    worker = threading.Thread(target=top_up_elsewhere)
    worker.start()
    worker.join()
    rest = b"".join(pieces).decode()

    assert WalletTransaction.objects.filter(idempotency_key="mid-export").exists()
    assert "7.000000" not in rest
    assert [line.split(",")[0] for line in rest.splitlines()][-2:] == ["top_up", "number_fee"]
