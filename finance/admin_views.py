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

from finance import selectors, services
from payments.models import TopUp
from wallets.models import Wallet


class AdjustmentForm(forms.Form):
    amount = forms.CharField(
        label="Amount (USD)", help_text="e.g. 25.00 to credit, -4.50 to debit; up to 6 decimal places"
    )
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))


class RefundForm(forms.Form):
    amount = forms.CharField(label="Amount to refund (USD)")
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _page(request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title, **context})


def _submit(form: forms.Form, action) -> object | None:
    """Run a service with the form's fields; its refusal becomes the form's error."""
    if not form.is_valid():
        return None
    try:
        return action(**form.cleaned_data)
    except services.FinanceError as exc:
        form.add_error(None, str(exc))
        return None


def adjustment_view(request: HttpRequest, wallet_id: int) -> HttpResponse:
    _require(request, "finance.post_adjustment")
    wallet = get_object_or_404(Wallet.objects.select_related("workspace"), pk=wallet_id)
    form = AdjustmentForm(request.POST or None)
    # One token per opened form: a second submit of the same form posts nothing new.
    form_token = request.POST.get("form_token") or uuid.uuid4().hex
    if request.method == "POST":
        posting = _submit(
            form,
            lambda amount, reason: services.adjustment_post(
                wallet=wallet, amount=amount, reason=reason, user=request.user, form_token=form_token
            ),
        )
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
    )


def dashboard_view(request: HttpRequest) -> HttpResponse:
    _require(request, "finance.view_finance_dashboard")
    return _page(request, "admin/finance/dashboard.html", "Finance dashboard", figures=selectors.dashboard_figures())
