"""Price lists in and out (CSV/XLSX, previewed, row-level errors), usage and ledger out."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from finance.models import AuditEntry
from finance.resources import LedgerEntryResource, PriceListResource, PriceResource, WhatsAppRateCardResource
from tests.factories import UserFactory, finance_user, fund, wallet_of
from usage.models import CarrierFee, NumberPrice, Price, PriceList
from wallets.models import WalletTransaction

SAMPLES = Path(__file__).resolve().parent.parent / "usage" / "fixtures" / "finance"


def _import(resource, text: str, user=None):
    dataset = tablib.Dataset().load(text, format="csv")
    return resource().import_data(dataset, dry_run=False, rollback_on_validation_errors=True, user=user)


def _row_errors(result) -> list[str]:
    messages = [str(e.error) for _, errors in result.row_errors() for e in errors]
    messages += [f"{k}: {v}" for row in result.invalid_rows for k, v in row.error_dict.items()]
    return messages


@pytest.fixture
def sample_list(db):
    result = _import(PriceListResource, (SAMPLES / "price_list.csv").read_text())
    assert not result.has_errors() and not result.has_validation_errors()
    return PriceList.objects.get(name="Sample 2027")


def _upload(client, url_name: str, path: Path):
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    return client.post(reverse(url_name), {"import_file": upload, "format": "0", "resource": "0"})


def test_the_sample_price_list_imports_through_the_admin_with_a_preview_then_a_confirm(client, db):
    user = finance_user()
    client.force_login(user)
    for url_name, name in [
        ("admin:usage_pricelist_import", "price_list.csv"),
        ("admin:usage_price_import", "prices.csv"),
        ("admin:usage_carrierfee_import", "carrier_fees.csv"),
        ("admin:usage_numberprice_import", "number_prices.csv"),
    ]:
        preview = _upload(client, url_name, SAMPLES / name)
        assert preview.status_code == 200
        confirm_form = preview.context["confirm_form"]
        assert confirm_form is not None, preview.context["result"].base_errors
        before = Price.objects.count()
        confirm = client.post(reverse(url_name.replace("_import", "_process_import")), confirm_form.initial)
        assert confirm.status_code == 302, name
        assert url_name != "admin:usage_price_import" or Price.objects.count() == before + 28

    price_list = PriceList.objects.get(name="Sample 2027")
    assert price_list.effective_from.isoformat() == "2027-01-01T00:00:00+00:00"
    assert Price.objects.get(
        price_list=price_list, message_type="sms", direction="outbound", country="GB"
    ).unit_price == (Decimal("0.040000"))
    assert CarrierFee.objects.filter(price_list=price_list).count() == 5
    assert NumberPrice.objects.get(price_list=price_list, country="").monthly_fee == Decimal("2.000000")
    assert AuditEntry.objects.filter(action="import", actor=user).count() == 4
    assert not WalletTransaction.objects.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "price_list,channel_family,message_type,direction,country,price\n2027-01-01,sms,sms,outbound,US,0.01\n",
            "Wrong columns",
        ),
        (
            "price_list,channel_family,message_type,category,direction,country,unit_price\n"
            "2027-01-01,sms,sms,,outbound,US,0.01\n2027-01-01,sms,sms,,outbound,US,0.02\n",
            "Duplicate key in this file",
        ),
        (
            "price_list,channel_family,message_type,category,direction,country,unit_price\n"
            "2027-01-01,sms,sms,,outbound,US,0.01\n2027-01-01,sms,sms,,outbound,CA,-0.01\n",
            "greater than or equal to 0",
        ),
        (
            "price_list,channel_family,message_type,category,direction,country,unit_price\n"
            "2027-01-01,sms,sms,,outbound,US,0.01\n2027-13-45,sms,sms,,outbound,CA,0.01\n",
            "is not a date in the form YYYY-MM-DD",
        ),
    ],
    ids=["wrong-columns", "duplicate-key", "negative-price", "malformed-date"],
)
def test_a_bad_price_file_reports_the_error_and_imports_nothing(sample_list, text, error):
    result = _import(PriceResource, text)
    messages = _row_errors(result) + [str(e.error) for e in result.base_errors]
    assert any(error in message for message in messages), messages
    assert not Price.objects.exists()
    assert not AuditEntry.objects.filter(action="import", target_type="usage.price").exists()


def test_a_malformed_effective_date_in_a_price_list_file_is_a_row_error(db):
    result = _import(PriceListResource, "name,effective_from,bill_failed_messages,notes\nX,31/12/2027,1,\n")
    assert any("is not a date" in m for m in _row_errors(result))
    assert not PriceList.objects.exists()


def test_the_admin_preview_of_a_bad_file_shows_row_errors_and_offers_no_confirm(client, sample_list, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "price_list,channel_family,message_type,category,direction,country,unit_price\n"
        "2027-01-01,sms,sms,,outbound,US,-1\n"
    )
    client.force_login(finance_user())
    preview = _upload(client, "admin:usage_price_import", path)
    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is None
    assert "greater than or equal to 0" in preview.content.decode()
    assert not Price.objects.exists()


def test_a_price_file_imported_as_price_lists_shows_one_clean_error_and_no_traceback(client, db):
    client.force_login(finance_user())
    preview = _upload(client, "admin:usage_pricelist_import", SAMPLES / "prices.csv")
    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is None
    page = preview.content.decode()
    assert "Wrong columns for price lists. Expected: name, effective_from" in page
    assert "Traceback" not in page and "_seen_keys" not in page and "Line number" not in page
    assert "Nothing was imported." in page
    assert not PriceList.objects.exists()


def test_workspace_users_cannot_reach_the_import_page(client, owner):
    client.force_login(owner)
    assert client.get(reverse("admin:usage_price_import")).status_code == 302
    client.force_login(UserFactory(username="ops", is_staff=True))
    assert client.get(reverse("admin:usage_price_import")).status_code == 403


def test_the_ledger_export_holds_the_filtered_rows_at_full_precision(client, workspace, other_workspace):
    fund(wallet_of(workspace, "sms"), "1.234567", key="a")
    fund(wallet_of(other_workspace, "sms"), "9", key="b")
    client.force_login(finance_user())
    url = reverse("admin:wallets_wallettransaction_export") + f"?wallet__workspace__id__exact={workspace.pk}"
    columns = [f.column_name for f in LedgerEntryResource().get_export_fields()]
    response = client.post(url, {"format": "0", "resource": "0", **{f"ledgerentryresource_{c}": "on" for c in columns}})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["workspace"], r["amount"], r["idempotency_key"]) for r in rows] == [("acme", "1.234567", "a")]


def test_a_whatsapp_rate_card_imports_through_the_admin_and_exports_as_it_came(client, sample_list):
    client.force_login(finance_user())
    path = SAMPLES / "whatsapp_rate_card.csv"
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    preview = client.post(reverse("admin:usage_price_import"), {"import_file": upload, "format": "0", "resource": "1"})
    assert preview.status_code == 200
    assert preview.context["confirm_form"] is not None, preview.context["result"].base_errors
    confirm = client.post(reverse("admin:usage_price_process_import"), preview.context["confirm_form"].initial)
    assert confirm.status_code == 302

    tiers = Price.objects.filter(price_list=sample_list, category="utility", country="BR").order_by("tier_start")
    assert [(p.tier_start, p.unit_price) for p in tiers] == [
        (1, Decimal("0.006800")),
        (250001, Decimal("0.006400")),
        (2000001, Decimal("0.005800")),
    ]
    assert {(p.channel_family, p.message_type, p.direction) for p in Price.objects.all()} == {
        ("whatsapp", "whatsapp", "outbound")
    }
    window = Price.objects.get(price_list=sample_list, category="service", pricing_type="free_customer_service")
    assert window.unit_price == Decimal("0.006800")
    exported = WhatsAppRateCardResource().export().csv.replace("\r\n", "\n")
    assert sorted(exported.splitlines()) == sorted(path.read_text().splitlines())
    assert AuditEntry.objects.filter(action="import", target_type="usage.price").count() == 1


RATE_CARD_HEADER = "price_list,category,country,pricing_type,tier_start,unit_price\n"


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ("2027-01-01,utility,BR,regular,250001,0.0064\n", "has no first tier"),
        ("2027-01-01,service,,free_customer_service,1000,0.0068\n", "only tier_start 1"),
        ("2027-01-01,utility,Brazil,regular,1,0.0068\n", "ISO 3166-1"),
        ("2027-01-01,promo,BR,regular,1,0.0068\n", "is not a valid choice"),
        ("2027-01-01,utility,BR,free_tier,1,0.0068\n", "is not a valid choice"),
        ("2027-01-01,utility,BR,regular,0,0.0068\n", "whole number from 1"),
        ("2027-01-01,utility,BR,regular,1,-0.0068\n", "greater than or equal to 0"),
        ("2024-01-01,utility,BR,regular,1,0.0068\n", "by conversation"),
    ],
    ids=["tier-without-first", "tiered-window", "country", "category", "type", "tier-zero", "negative", "cbp-version"],
)
def test_a_wrong_rate_card_row_refuses_the_whole_file_with_its_error(sample_list, rows, error):
    PriceList.objects.create(
        name="Conversations", effective_from="2024-01-01T00:00:00Z", whatsapp_pricing_model="conversation"
    )
    good = "2027-01-01,marketing,,regular,1,0.06\n"

    result = _import(WhatsAppRateCardResource, RATE_CARD_HEADER + good + rows)

    messages = _row_errors(result) + [str(e.error) for e in result.base_errors]
    assert any(error in message for message in messages), messages
    assert not Price.objects.exists()
    assert not AuditEntry.objects.filter(action="import", target_type="usage.price").exists()
