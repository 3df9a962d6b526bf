"""Audited admin actions: price edits, reconcile with Stripe; usage export; XLSX round trip."""

import io
from decimal import Decimal

import openpyxl
import tablib
from django.urls import reverse

from finance.models import AuditEntry, Refund
from finance.resources import PriceResource
from finance.services import FinanceError, refund_issue
from payments.models import TopUp
from payments.stripe_api import stripe_client
from tests.factories import PriceListFactory, UsageRecordFactory, finance_user, wallet_of
from tests.stripe_helpers import paid_topup, session_id_of, start_topup
from usage.models import Price
from usage.resources import UsageRecordResource
from wallets.models import WalletTransaction


def test_a_price_edit_in_the_admin_is_audited_with_before_and_after(client, db):
    user = finance_user()
    price_list = PriceListFactory()
    price = Price.objects.create(
        price_list=price_list, channel_family="sms", message_type="sms", direction="outbound", unit_price="0.0079"
    )
    client.force_login(user)
    url = reverse("admin:usage_price_change", args=[price.pk])
    data = {
        "price_list": price_list.pk,
        "channel_family": "sms",
        "message_type": "sms",
        "category": "",
        "direction": "outbound",
        "country": "",
        "unit_price": "0.0081",
    }
    assert client.post(url, data).status_code == 302
    price.refresh_from_db()
    assert price.unit_price == Decimal("0.008100")
    audit = AuditEntry.objects.get(action="price_change")
    assert (audit.actor, audit.target_id) == (user, str(price.pk))
    # Both sides at the column's 6 places: the admin's MoneyField reads the typed 0.0081 as 0.008100.
    assert (audit.before["unit_price"], audit.after["unit_price"]) == ("0.007900", "0.008100")


def test_a_negative_price_typed_in_the_admin_is_refused(client, db):
    client.force_login(finance_user())
    price_list = PriceListFactory()
    data = {"price_list": price_list.pk, "channel_family": "sms", "message_type": "sms", "direction": "outbound"}
    response = client.post(reverse("admin:usage_price_add"), {**data, "country": "", "unit_price": "-1"})
    assert response.status_code == 200
    assert not Price.objects.exists()
    assert not AuditEntry.objects.exists()


def test_reconcile_credits_a_paid_top_up_whose_webhook_never_came_and_audits_it(
    client, owner_client, workspace, stripe_standin
):
    url = start_topup(owner_client, workspace, "sms", "30").url
    assert stripe_standin.pay(session_id_of(url), "4242424242424242") is None  # no webhook delivered
    topup = TopUp.objects.get()
    user = finance_user()
    client.force_login(user)

    response = client.post(
        reverse("admin:payments_topup_changelist"), {"action": "reconcile", "_selected_action": [topup.pk]}
    )

    assert response.status_code == 302
    topup.refresh_from_db()
    assert (topup.status, topup.amount_paid) == ("succeeded", Decimal("30.000000"))
    assert wallet_of(workspace, "sms").balance == Decimal("30.000000")
    audit = AuditEntry.objects.get(action="reconcile")
    assert (audit.actor, audit.before, audit.after) == (user, {"status": "pending"}, {"status": "succeeded"})


def test_a_refund_stripe_refuses_is_marked_failed_and_debits_nothing(owner_client, workspace, stripe_standin):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    intent = stripe_standin.objects[topup.checkout_session_id]["payment_intent"]
    stripe_client().v1.refunds.create(params={"payment_intent": intent})  # refunded outside the portal

    try:
        refund_issue(topup=topup, amount="10", reason="Late", user=finance_user())
    except FinanceError as exc:
        assert "Stripe refused the refund" in str(exc)
    else:
        raise AssertionError("the refund should have been refused")
    assert Refund.objects.get().status == "failed"
    assert not WalletTransaction.objects.filter(kind="refund").exists()
    assert wallet_of(workspace, "whatsapp").balance == Decimal("50.000000")


def test_prices_export_to_xlsx_and_import_back_from_it(db):
    price_list = PriceListFactory()
    Price.objects.create(
        price_list=price_list,
        channel_family="sms",
        message_type="sms",
        direction="outbound",
        country="US",
        unit_price="0.007900",
    )
    xlsx = PriceResource().export().export("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    header, row = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    assert dict(zip(header, row, strict=True))["unit_price"] == "0.007900"

    Price.objects.all().delete()
    result = PriceResource().import_data(tablib.Dataset().load(xlsx, format="xlsx"), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert Price.objects.get(country="US").unit_price == Decimal("0.007900")


def test_usage_records_export_the_filtered_list_in_full_precision(client, workspace, other_workspace):
    UsageRecordFactory(workspace=workspace, message_id="m-1")
    UsageRecordFactory(workspace=other_workspace, message_id="m-2")
    client.force_login(finance_user())
    columns = [f.column_name for f in UsageRecordResource().get_export_fields()]
    response = client.post(
        reverse("admin:usage_usagerecord_export") + "?q=m-1",
        {"format": "0", "resource": "0", **{f"usagerecordresource_{c}": "on" for c in columns}},
    )
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert len(lines) == 2 and "m-1" in lines[1] and "0.010900" in lines[1]
