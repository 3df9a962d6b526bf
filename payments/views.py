import json
import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from common.views import workspace_view
from payments import receipts, services
from payments.exceptions import PaymentError
from payments.forms import AutoTopUpForm, TopUpForm, form_error_messages
from payments.models import TopUp
from payments.selectors import topup_for_workspace
from payments.stripe_api import stripe_client
from wallets.models import Wallet
from wallets.money import format_usd
from wallets.pdf import pdf_response

logger = logging.getLogger(__name__)
STRIPE_DOWN = "Stripe could not be reached; nothing was charged. Please try again in a minute."


def _next_path(request: HttpRequest, given: str) -> str:
    """The page that held the modal (only a path on this site), else the wallet overview."""
    if given.startswith("/") and url_has_allowed_host_and_scheme(given, allowed_hosts={request.get_host()}):
        return given
    return reverse("billing_overview", args=[request.workspace.slug])


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(_next_path(request, request.POST.get("next", "")))


def _back_to_form(request: HttpRequest, kind: str, form: str, error: PaymentError) -> HttpResponse:
    """Back to the page with the top-up dialog open on the same form, every problem listed in it
    (the modal include reads messages tagged for it; topup.js opens the dialog on #top-up)."""
    for problem in error.problems:
        messages.error(request, problem, extra_tags=f"topup topup-{kind}-{form}")
    response = _back(request)
    response["Location"] = response["Location"].split("#")[0] + "#top-up"
    return response


def _wallet(request: HttpRequest, kind: str) -> Wallet:
    return get_object_or_404(Wallet, workspace=request.workspace, kind=kind)


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@require_POST
@workspace_view(billing=True)
def topup_start(request: HttpRequest, kind: str) -> HttpResponse:
    wallet = _wallet(request, kind)
    choice = request.POST.get("amount", "")
    form = TopUpForm({"amount": request.POST.get("custom_amount", "") if choice == "custom" else choice})
    try:
        if not form.is_valid():
            raise PaymentError(*form_error_messages(form, hints={"amount": services.amount_range_message()}))
        checkout_url = services.topup_checkout_start(
            wallet=wallet, amount=form.cleaned_data["amount"], user=request.user, base_url=_base_url(request)
        )
    except PaymentError as exc:
        return _back_to_form(request, kind, "manual", exc)
    return redirect(checkout_url)


@require_POST
@workspace_view(billing=True)
def auto_top_up_save(request: HttpRequest, kind: str) -> HttpResponse:
    wallet = _wallet(request, kind)
    form = AutoTopUpForm(request.POST)
    # What the form refuses and what the service refuses of the rest are listed together.
    hints = {"auto_amount": services.amount_range_message()}
    refused = [] if form.is_valid() else form_error_messages(form, hints=hints)
    value = form.cleaned_data
    try:
        services.auto_top_up_rule_save(
            wallet=wallet,
            enabled=value["enabled"],
            threshold=value.get("threshold"),
            amount=value.get("auto_amount"),
            monthly_cap=value.get("monthly_cap"),
            user=request.user,
            refused=refused,
        )
    except PaymentError as exc:
        return _back_to_form(request, kind, "auto", exc)
    else:
        state = "on" if value["enabled"] else "off"
        messages.success(request, f"Auto top-up {state} for the {wallet.get_kind_display()} wallet.")
    return _back(request)


@require_POST
@workspace_view(billing=True)
def card_save(request: HttpRequest) -> HttpResponse:
    try:
        url = services.saved_card_checkout_start(
            workspace=request.workspace,
            base_url=_base_url(request),
            return_path=_next_path(request, request.POST.get("next", "")),
        )
        return redirect(url)
    except stripe.StripeError:
        logger.exception("Could not start a setup session")
        messages.error(request, STRIPE_DOWN)
        return _back(request)


@require_GET
@workspace_view(billing=True)
def card_saved(request: HttpRequest) -> HttpResponse:
    try:
        services.saved_card_sync(session_id=request.GET.get("session_id", ""))
    except (stripe.StripeError, services.PaymentRefused):
        logger.exception("Could not confirm the saved card")
        messages.error(request, "We could not confirm the card with Stripe. It will appear once Stripe confirms it.")
    else:
        messages.success(request, "Card saved.")
    return redirect(_next_path(request, request.GET.get("next", "")) + "#top-up")


@require_POST
@workspace_view(billing=True)
def card_remove(request: HttpRequest) -> HttpResponse:
    try:
        services.saved_card_remove(workspace=request.workspace)
    except PaymentError as exc:
        messages.error(request, str(exc))
    except stripe.StripeError:
        logger.exception("Could not detach the card")
        messages.error(request, STRIPE_DOWN)
    else:
        messages.success(request, "Card removed; auto top-up is off until you save a new card.")
    return _back(request)


def _topup(request: HttpRequest, topup_id: int) -> TopUp:
    topup = topup_for_workspace(workspace_id=request.workspace.id, topup_id=topup_id)
    if topup is None:
        raise Http404("No such top-up.")
    return topup


@require_GET
@workspace_view(billing=True)
def topup_success(request: HttpRequest, topup_id: int) -> HttpResponse:
    topup = _topup(request, topup_id)
    try:
        topup = services.topup_session_sync(topup=topup)
    except stripe.StripeError:
        logger.exception("Success page could not fetch session %s", topup.checkout_session_id)
    topup.wallet.refresh_from_db(fields=["balance"])
    return render(request, "payments/topup_success.html", {"topup": topup, "nav": "billing"})


@require_GET
@workspace_view(billing=True)
def topup_cancelled(request: HttpRequest, topup_id: int) -> HttpResponse:
    topup = _topup(request, topup_id)
    try:
        topup = services.topup_checkout_cancel(topup=topup)
    except stripe.StripeError:
        # Stripe unreachable: the top-up stays pending and the reconcile task or the
        # expiry webhook closes it; the page still tells the payer nothing was charged.
        logger.exception("Cancel page could not expire session %s", topup.checkout_session_id)
    topup.wallet.refresh_from_db(fields=["balance"])
    return render(request, "payments/topup_cancelled.html", {"topup": topup, "nav": "billing"})


@require_GET
@workspace_view(billing=True)
def topup_receipt(request: HttpRequest, topup_id: int) -> HttpResponse:
    """The receipt of a paid top-up, as a PDF; other top-ups have none (404)."""
    topup = _topup(request, topup_id)
    try:
        receipt = receipts.topup_receipt(topup=topup)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    return pdf_response(receipts.receipt_pdf(receipt), receipt.filename)


@require_GET
@workspace_view(billing=True)
def topup_status(request: HttpRequest, topup_id: int) -> JsonResponse:
    """Polled by the success page until the credit lands."""
    topup = _topup(request, topup_id)
    balance = Wallet.objects.values_list("balance", flat=True).get(pk=topup.wallet_id)
    return JsonResponse(
        {
            "status": topup.status,
            "amount_paid": str(topup.amount_paid) if topup.amount_paid is not None else None,
            "balance": str(balance),
            "balance_display": format_usd(balance),
        }
    )


@csrf_exempt  # Stripe cannot send our CSRF token; the signature authenticates instead.
@transaction.non_atomic_requests
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, store, then process. A bad signature writes nothing; a processing error is
    recorded and answered with 500 so that Stripe retries the delivery later."""
    try:
        stripe_client().construct_event(
            request.body,
            request.headers.get("Stripe-Signature"),
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
        event = json.loads(request.body)
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponseBadRequest("Invalid payload or signature.")
    stored = services.stripe_event_store(event=event)
    try:
        outcome = services.stripe_event_process(event_id=stored.id)
    except Exception as exc:
        logger.exception("Stripe event %s failed", stored.stripe_id)
        services.stripe_event_fail(event_id=stored.id, error=f"{type(exc).__name__}: {exc}")
        return JsonResponse({"received": True, "error": "processing failed; retry later"}, status=500)
    return JsonResponse({"received": True, "outcome": outcome})
