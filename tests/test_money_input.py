"""Amounts typed by people: one parser (wallets.money.money_parse) behind every money form.

Each hostile string is tried on each form: the top-up's custom amount, the auto top-up's
amount and minimum balance, the finance adjustment and refund, and the admin's price fields.
Each is refused with a message that says what was read, and nothing is written."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from finance.models import Refund
from payments.models import TopUp
from tests.factories import finance_user, wallet_of
from tests.stripe_helpers import paid_topup, save_card, start_topup
from usage.models import CarrierFee, Channel, NumberPrice, PhoneNumber, Price
from wallets.forms import MoneyField
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.money import MoneyInvalid, money_parse

pytestmark = pytest.mark.django_db

RANGE = "A top-up is US$20.00 to US$2,000.00."
FORMAT = "is not an amount. Type digits with an optional point, e.g. 1000.00 or 1,000.00."
# Each hostile string and the part of its refusal that shows what was read.
HOSTILE = {
    "20,00": "“20,00” is not an amount: a comma may only separate thousands (1,000.00). Did you mean “2,000” or “20”?",
    "1,0,0": "“1,0,0” is not an amount: a comma may only separate thousands (1,000.00). Did you mean “100”?",
    "5e2": f"“5e2” {FORMAT}",
    "1_000": f"“1_000” {FORMAT}",
    "NaN": f"“NaN” {FORMAT}",
    "Infinity": f"“Infinity” {FORMAT}",
    "1e309": f"“1e309” {FORMAT}",
    "1e27": f"“1e27” {FORMAT}",
    "٣": f"“٣” {FORMAT}",
    "\uff11\uff10\uff10": f"“\uff11\uff10\uff10” {FORMAT}",  # full-width 100
    "9" * 29: "99,999,999,999,999,999,999,999,999,999 is too large: at most 12 digits before the point.",
}


@pytest.mark.parametrize(
    ("text", "places", "amount"),
    [
        ("1,000.00", 2, Decimal("1000.00")),
        ("1000", 2, Decimal("1000.00")),
        (" 25.5 ", 2, Decimal("25.50")),
        ("12,345,678.5", 2, Decimal("12345678.50")),
        ("0.000125", 6, Decimal("0.000125")),
        ("1.50", 2, Decimal("1.50")),
        ("999999999999.99", 2, Decimal("999999999999.99")),
    ],
)
def test_well_formed_amounts_are_read_exactly(text, places, amount):
    parsed = money_parse(text, places=places)

    assert parsed == amount and parsed.as_tuple().exponent == -places


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_string_is_refused_with_what_was_read(text):
    with pytest.raises(MoneyInvalid) as refused:
        money_parse(text, places=6, allow_negative=True)

    assert str(refused.value) == HOSTILE[text]


@pytest.mark.parametrize(
    ("text", "places", "message"),
    [
        ("20.005", 2, "20.005 has more than 2 decimal places."),
        ("0.0000001", 6, "0.0000001 has more than 6 decimal places."),
        ("-5", 2, "-5 is negative; enter an amount of zero or more."),
        ("1000000000000", 2, "1,000,000,000,000 is too large: at most 12 digits before the point."),
        ("", 2, "Enter an amount. Type digits with an optional point, e.g. 1000.00 or 1,000.00."),
    ],
)
def test_places_sign_size_and_emptiness_are_checked(text, places, message):
    with pytest.raises(MoneyInvalid) as refused:
        money_parse(text, places=places)

    assert str(refused.value) == message


def _messages(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("text", HOSTILE)
def test_the_top_up_custom_amount_refuses_each_hostile_string_and_opens_no_checkout(
    owner_client, workspace, stripe_standin, text
):
    response = start_topup(owner_client, workspace, "whatsapp", "custom", custom=text)

    assert response.status_code == 302
    assert _messages(response) == [f"{HOSTILE[text]} {RANGE}"]
    assert TopUp.objects.count() == 0
    assert stripe_standin.count("checkout.session") == 0


def test_the_top_up_custom_amount_reads_grouped_thousands(owner_client, workspace, stripe_standin):
    response = start_topup(owner_client, workspace, "sms", "custom", custom="1,000.00")

    assert response.status_code == 302
    assert TopUp.objects.get().amount == Decimal("1000.00")
    assert stripe_standin.count("checkout.session") == 1


@pytest.mark.parametrize("field", ["auto_amount", "threshold"])
@pytest.mark.parametrize("text", HOSTILE)
def test_the_auto_top_up_form_refuses_each_hostile_string_in_each_amount(
    owner_client, workspace, stripe_standin, text, field
):
    save_card(stripe_standin, workspace)
    data = {"enabled": "on", "threshold": "25.00", "auto_amount": "100.00", field: text}

    response = owner_client.post(reverse("payments:auto_top_up_save", args=[workspace.slug, "sms"]), data)

    assert response.status_code == 302
    label = "Auto top-up amount" if field == "auto_amount" else "Minimum balance"
    expected = f"{label}: {HOSTILE[text]}" + (f" {RANGE}" if field == "auto_amount" else "")
    assert _messages(response) == [expected]
    assert AutoTopUpRule.objects.count() == 0
    assert TopUp.objects.count() == 0


@pytest.fixture
def finance_client(client, db):
    client.force_login(finance_user())
    return client


@pytest.mark.parametrize("text", HOSTILE)
def test_the_finance_adjustment_refuses_each_hostile_string_and_posts_nothing(finance_client, workspace, text):
    wallet = wallet_of(workspace, "sms")

    response = finance_client.post(
        reverse("finance_adjustment", args=[wallet.pk]), {"amount": text, "reason": "Typo test", "form_token": "t1"}
    )

    assert response.status_code == 200
    assert HOSTILE[text] in response.content.decode()
    assert not WalletTransaction.objects.filter(kind="adjustment").exists()


@pytest.mark.parametrize("text", HOSTILE)
def test_the_finance_refund_refuses_each_hostile_string_and_refunds_nothing(
    client, owner_client, workspace, stripe_standin, text
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    client.force_login(finance_user())

    response = client.post(reverse("finance_refund", args=[topup.pk]), {"amount": text, "reason": "Duplicate"})

    assert response.status_code == 200
    assert HOSTILE[text] in response.content.decode()
    assert Refund.objects.count() == 0
    assert stripe_standin.count("refund") == 0
    assert not WalletTransaction.objects.filter(kind="refund").exists()


# The admin's money fields: (model, admin form's field) for each page that edits a price or amount.
ADMIN_MONEY_FIELDS = [
    (Price, "unit_price"),
    (CarrierFee, "amount"),
    (NumberPrice, "monthly_fee"),
    (PhoneNumber, "monthly_fee"),
    (AutoTopUpRule, "threshold"),
    (AutoTopUpRule, "amount"),
]


def _admin_form(model, superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    return admin.site._registry[model].get_form(request)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.mark.parametrize(("model", "field"), ADMIN_MONEY_FIELDS)
@pytest.mark.parametrize("text", HOSTILE)
def test_every_admin_money_field_refuses_each_hostile_string(superuser, model, field, text):
    form = _admin_form(model, superuser)({field: text})

    assert isinstance(form.fields[field], MoneyField)
    assert not form.is_valid()
    assert form.errors[field] == [HOSTILE[text]]


@pytest.mark.parametrize(("model", "field"), ADMIN_MONEY_FIELDS)
def test_admin_money_fields_take_six_decimal_places_and_grouped_thousands(superuser, model, field):
    form = _admin_form(model, superuser)({field: "1,234.000125"})
    form.is_valid()

    assert field not in form.errors
    assert form.cleaned_data[field] == Decimal("1234.000125")


def test_the_phone_number_inline_of_a_channel_uses_the_money_field(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    channel_admin = admin.site._registry[Channel]
    (inline,) = channel_admin.get_inline_instances(request)

    formset = inline.get_formset(request)

    assert isinstance(formset.form.base_fields["monthly_fee"], MoneyField)


def test_a_misgrouped_price_in_the_admin_add_page_is_refused_and_nothing_is_saved(client, superuser):
    from tests.factories import default_price_list

    default_price_list()
    client.force_login(superuser)
    price_list = Price.objects.values_list("price_list_id", flat=True).first()
    data = {
        "price_list": price_list,
        "channel_family": "sms",
        "message_type": "sms",
        "direction": "outbound",
        "country": "ZZ",
        "unit_price": "0,0079",
    }
    before = Price.objects.count()

    response = client.post(reverse("admin:usage_price_add"), data)

    assert response.status_code == 200
    assert "“0,0079” is not an amount: a comma may only separate thousands" in response.content.decode()
    assert Price.objects.count() == before
