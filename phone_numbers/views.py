"""Buying a phone number: the admin sees the monthly fee first, then confirms."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from common.views import workspace_view
from phone_numbers.services import NumberPurchaseRefused, phone_number_purchase, phone_number_purchase_quote
from usage.models import Channel
from wallets.money import DECIMAL_PLACES, MoneyInvalid, format_usd, money_parse


class NumberPurchaseForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=Channel.objects.none(), label="SMS channel", empty_label=None)
    number = forms.CharField(label="Phone number (E.164)", max_length=16, initial="+1")
    country = forms.CharField(label="Country (ISO code)", max_length=2, min_length=2, initial="US")

    def __init__(self, *args, workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(workspace=workspace, kind=Channel.Kind.SMS)


def _expected_fee(raw: str | None) -> Decimal | None:
    try:
        return money_parse(raw, places=DECIMAL_PLACES)
    except MoneyInvalid:
        return None


@workspace_view(billing=True)
def number_purchase(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the quote (fee shown, or the refusal). POST with confirm: buy, charge the first fee."""
    workspace = request.workspace
    form = NumberPurchaseForm(request.POST or None, workspace=workspace)
    context = {"form": form, "nav": "billing", "quote": None, "refusal": None}
    if request.method != "POST":
        return render(request, "phone_numbers/number_purchase.html", context)
    if not form.is_valid():
        return render(request, "phone_numbers/number_purchase.html", context, status=400)
    fields = {
        "workspace": workspace,
        "channel_id": form.cleaned_data["channel"].id,
        "number": form.cleaned_data["number"],
        "country": form.cleaned_data["country"],
    }
    try:
        if "confirm" not in request.POST:
            context["quote"] = phone_number_purchase_quote(**fields)
            return render(request, "phone_numbers/number_purchase.html", context)
        expected_fee = _expected_fee(request.POST.get("expected_fee"))
        if expected_fee is None:
            raise NumberPurchaseRefused("Review the monthly fee before confirming the purchase.")
        phone = phone_number_purchase(**fields, expected_fee=expected_fee, created_by=request.user)
    except NumberPurchaseRefused as exc:
        context["refusal"] = str(exc)
        return render(request, "phone_numbers/number_purchase.html", context, status=400)
    messages.success(
        request, f"{phone.number} is yours. {format_usd(phone.monthly_fee)} was charged for the first month."
    )
    return redirect("sms_wallet", workspace_slug=workspace.slug)
