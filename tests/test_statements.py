"""Monthly wallet statements: opening balance, the month's postings by kind, closing balance
equal to the ledger; as PDF and CSV from the wallet page and the admin."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.urls import reverse
from pypdf import PdfReader

from tests.factories import finance_user, fund, wallet_of
from wallets.statements import statement_months, wallet_statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(workspace):
    """An SMS wallet with postings in October and November 2026."""
    wallet = wallet_of(workspace, "sms")
    with time_machine.travel(datetime(2026, 10, 3, 9, tzinfo=UTC), tick=False):
        fund(wallet, "100", kind="top_up", key="t1")
        fund(wallet, "-0.0079", kind="message_charge", key="m1")
    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        fund(wallet, "-1.25", kind="number_fee", key="n1")
        fund(wallet, "-0.004512", kind="message_charge", key="m2")
        fund(wallet, "-0.003", kind="message_charge", key="m3")
        fund(wallet, "-0.0025", kind="carrier_fee", key="c1")
        fund(wallet, "50", kind="auto_top_up", key="a1")
    return wallet


def test_the_statement_adds_up_and_its_closing_balance_equals_the_ledger(history):
    statement = wallet_statement(wallet=history, month=date(2026, 11, 1))

    assert statement.opening == Decimal("99.992100")
    assert [(line.label, line.count, line.total) for line in statement.lines] == [
        ("Auto top-ups", 1, Decimal("50.000000")),
        ("Message charges", 2, Decimal("-0.007512")),
        ("Carrier fees", 1, Decimal("-0.002500")),
        ("Number fees", 1, Decimal("-1.250000")),
    ]
    ledger_sum = history.transactions.filter(created_at__lt=statement.end).aggregate(s=Sum("amount"))["s"]
    assert statement.closing == ledger_sum == statement.ledger_balance == Decimal("148.732088")
    history.refresh_from_db()
    assert statement.closing == history.balance


def test_a_month_without_postings_carries_the_balance(history):
    statement = wallet_statement(wallet=history, month=date(2026, 12, 1))
    assert statement.lines == []
    assert statement.opening == statement.closing == Decimal("148.732088")


def test_the_months_offered_run_from_the_first_posting_to_now(history):
    with time_machine.travel(datetime(2026, 12, 5, tzinfo=UTC), tick=False):
        assert statement_months(wallet=history) == [date(2026, 12, 1), date(2026, 11, 1), date(2026, 10, 1)]


def test_the_pdf_and_csv_statements_download_from_the_wallet_page(owner_client, history):
    with time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC), tick=False):
        page = owner_client.get(reverse("sms_wallet", args=["acme"])).content.decode()
    pdf_url = reverse("statement_download", args=["acme", "sms", "2026-11", "pdf"])
    csv_url = reverse("statement_download", args=["acme", "sms", "2026-11", "csv"])
    assert pdf_url in page and csv_url in page

    pdf = owner_client.get(pdf_url)
    assert pdf.status_code == 200
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    for expected in ["Statement, November 2026", "Acme", "Opening balance US$99.99", "Closing balance US$148.73",
                     "Message charges 2 -US$0.0075"]:  # fmt: skip
        assert expected in text, (expected, text)

    response = owner_client.get(csv_url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="statement-acme-sms-2026-11.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["workspace", "wallet", "month", "line", "postings", "amount_usd"]
    assert rows[1][3:] == ["Opening balance", "", "99.992100"]
    assert rows[-1][3:] == ["Closing balance", "", "148.732088"]
    assert sum(Decimal(row[5]) for row in rows[1:-1]) == Decimal(rows[-1][5])


def test_a_malformed_month_is_not_found_and_staff_without_billing_are_refused(client, owner_client, teammate, history):
    assert owner_client.get("/w/acme/settings/billing/sms/statements/2026-13.pdf").status_code == 404
    assert owner_client.get("/w/acme/settings/billing/sms/statements/2026-11.exe").status_code == 404
    client.force_login(teammate)
    assert client.get(reverse("statement_download", args=["acme", "sms", "2026-11", "pdf"])).status_code == 403


def test_finance_downloads_statements_from_the_wallet_admin(client, history):
    client.force_login(finance_user())
    with time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC), tick=False):
        change = client.get(reverse("admin:wallets_wallet_change", args=[history.pk])).content.decode()
    url = reverse("admin:wallets_wallet_statement", args=[history.pk, "2026-10", "csv"])
    assert url in change
    rows = list(csv.reader(io.StringIO(client.get(url).content.decode())))
    assert rows[-1][3:] == ["Closing balance", "", "99.992100"]
