"""Finance pages inside the admin site: adjustment form, refund form, dashboard.
Thin callers of finance.services / finance.selectors; each checks its own permission."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from common.replica import recent_reads
from finance import selectors, services
from payments.models import TopUp
from wallets.forms import MoneyField
from wallets.models import Wallet
from wallets.money import DECIMAL_PLACES, format_usd


class ConfirmedForm(forms.Form):
    """A finance form whose large amounts are shown back once and posted only when confirmed.

    `confirmed_amount` carries the amount that was confirmed: changing the amount after
    confirming asks again."""

    confirmed_amount = forms.CharField(required=False, widget=forms.HiddenInput)

    def needs_confirmation(self) -> bool:
        amount = self.cleaned_data["amount"]
        return services.confirmation_needed(amount=amount) and self.cleaned_data["confirmed_amount"] != f"{amount:f}"


class AdjustmentForm(ConfirmedForm):
    amount = MoneyField(
        label="Amount (USD)",
        places=DECIMAL_PLACES,
        allow_negative=True,
        help_text="e.g. 25.00 to credit, -4.50 to debit; up to 6 decimal places",
    )
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))


class RefundForm(ConfirmedForm):
    amount = MoneyField(label="Amount to refund (USD)", places=2)
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _page(request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title, **context})


def _submit(form: ConfirmedForm, action) -> object | None:
    """Run a service with the form's fields, once confirmed; its refusal becomes the form's error."""
    if not form.is_valid() or form.needs_confirmation():
        return None
    fields = {name: value for name, value in form.cleaned_data.items() if name != "confirmed_amount"}
    try:
        return action(**fields)
    except services.FormAlreadyPosted:
        raise  # the view answers it with a fresh form
    except services.FinanceError as exc:
        form.add_error(None, str(exc))
        return None


def _confirming(form: ConfirmedForm) -> dict | None:
    """The amount to show back for confirmation, when the form waits for it."""
    if form.is_bound and form.is_valid() and form.needs_confirmation():
        amount = form.cleaned_data["amount"]
        return {"value": f"{amount:f}", "shown": format_usd(amount), "above": format_usd(services.confirm_above())}
    return None


def adjustment_view(request: HttpRequest, wallet_id: int) -> HttpResponse:
    _require(request, "finance.post_adjustment")
    wallet = get_object_or_404(Wallet.objects.select_related("workspace"), pk=wallet_id)
    form = AdjustmentForm(request.POST or None)
    # One token per opened form: a second submit of the same form posts nothing new.
    form_token = request.POST.get("form_token") or uuid.uuid4().hex
    if request.method == "POST":
        try:
            posting = _submit(
                form,
                lambda amount, reason: services.adjustment_post(
                    wallet=wallet, amount=amount, reason=reason, user=request.user, form_token=form_token
                ),
            )
        except services.FormAlreadyPosted as exc:
            form.add_error(None, str(exc))
            form_token, posting = uuid.uuid4().hex, None  # a fresh form: submitting it again is a new adjustment
        if posting is not None:
            messages.success(request, f"Adjustment of {posting.amount} posted; balance now {posting.balance_after}.")
            return redirect(reverse("admin:wallets_wallettransaction_changelist") + f"?wallet__id__exact={wallet.pk}")
    return _page(
        request,
        "admin/finance/adjustment.html",
        f"Post an adjustment to {wallet}",
        wallet=wallet,
        form=form,
        form_token=form_token,
        confirm=_confirming(form),
    )


def refund_view(request: HttpRequest, topup_id: int) -> HttpResponse:
    _require(request, "finance.issue_refund")
    topup = get_object_or_404(TopUp.objects.select_related("wallet__workspace"), pk=topup_id)
    form = RefundForm(request.POST or None)
    if request.method == "POST":
        refund = _submit(
            form,
            lambda amount, reason: services.refund_issue(topup=topup, amount=amount, reason=reason, user=request.user),
        )
        if refund is not None:
            state = "refunded and debited" if refund.status == refund.Status.SUCCEEDED else "sent to Stripe"
            messages.success(request, f"Refund of {refund.amount} {state}.")
            return redirect("admin:payments_topup_change", topup.pk)
    return _page(
        request,
        "admin/finance/refund.html",
        f"Refund top-up {topup.pk}",
        topup=topup,
        form=form,
        refundable=services.refundable_amount(topup=topup),
        confirm=_confirming(form),
    )


def dashboard_view(request: HttpRequest) -> HttpResponse:
    _require(request, "finance.view_finance_dashboard")
    # From the replica when it may be (common.replica), rendered there; balances come from the primary.
    return recent_reads(request).run(
        lambda as_of: _page(
            request,
            "admin/finance/dashboard.html",
            "Finance dashboard",
            figures=selectors.dashboard_figures(),
            reads_as_of=as_of,
        ).render()
    )
