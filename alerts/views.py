"""Pages of the alerts app: alert thresholds on the wallet pages, email preferences and
extra recipients, webhook endpoints with their delivery logs, and the live balance."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alerts import services, webhooks
from alerts.models import AlertRule, EventType, ExtraRecipient, WebhookDelivery, WebhookEndpoint
from alerts.selectors import email_preferences, endpoint_deliveries, extra_recipients, iso_utc, webhook_endpoints
from common.views import workspace_view
from wallets.models import Wallet
from wallets.money import format_usd
from wallets.selectors import wallet_status

WALLET_PAGES = {Wallet.Kind.SMS: "sms_wallet", Wallet.Kind.WHATSAPP: "whatsapp_billing"}


def _wallet(request: HttpRequest, kind: str) -> Wallet:
    if kind not in request.wallets:
        raise Http404("No such wallet.")
    return request.wallets[kind]


def _wallet_page(request: HttpRequest, wallet: Wallet) -> HttpResponse:
    return redirect(f"{reverse(WALLET_PAGES[wallet.kind], args=[request.workspace.slug])}#balance-alerts")


@require_POST
@workspace_view(billing=True)
def alert_rule_add(request: HttpRequest, kind: str) -> HttpResponse:
    wallet = _wallet(request, kind)
    try:
        rule = services.alert_rule_add(wallet=wallet, threshold=request.POST.get("threshold"), user=request.user)
    except services.AlertSettingInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"You will be told when the balance falls below {format_usd(rule.threshold)}.")
    return _wallet_page(request, wallet)


@require_POST
@workspace_view(billing=True)
def alert_rule_remove(request: HttpRequest, kind: str, rule_id: int) -> HttpResponse:
    wallet = _wallet(request, kind)
    services.alert_rule_remove(rule=get_object_or_404(AlertRule, wallet=wallet, pk=rule_id))
    messages.success(request, "Alert removed.")
    return _wallet_page(request, wallet)


@require_GET
@workspace_view(billing=True)
def wallet_live(request: HttpRequest, kind: str) -> JsonResponse:
    """Polled by the wallet pages (static/js/live-balance.js): what changes with the balance."""
    wallet = _wallet(request, kind)
    status = wallet_status(kind=wallet.kind, balance=wallet.balance)
    response = JsonResponse(
        {
            "kind": wallet.kind,
            "balance": str(wallet.balance),
            "balance_display": format_usd(wallet.balance),
            "state": status.state,
            "badge_html": render_to_string("alerts/_state_badge.html", {"status": status}),
            "banners_html": render_to_string("includes/banners.html", request=request),
            "as_of": iso_utc(timezone.now()),
        }
    )
    response["Cache-Control"] = "no-store"
    return response


def _notifications(request: HttpRequest) -> HttpResponse:
    return redirect("alerts:notifications", workspace_slug=request.workspace.slug)


@workspace_view(billing=True)
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.email_preferences_save(
            user=request.user, workspace=request.workspace, enabled_types=request.POST.getlist("email")
        )
        messages.success(request, "Your email choices are saved.")
        return _notifications(request)
    context = {
        "preferences": email_preferences(user=request.user, workspace=request.workspace),
        "recipients": extra_recipients(workspace=request.workspace),
        "nav": "notifications",
    }
    return render(request, "alerts/notifications.html", context)


@require_POST
@workspace_view(billing=True)
def recipient_add(request: HttpRequest) -> HttpResponse:
    try:
        recipient = services.extra_recipient_add(workspace=request.workspace, email=request.POST.get("email", ""))
    except services.AlertSettingInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{recipient.email} will receive every alert email.")
    return _notifications(request)


@require_POST
@workspace_view(billing=True)
def recipient_remove(request: HttpRequest, recipient_id: int) -> HttpResponse:
    recipient = get_object_or_404(ExtraRecipient, workspace=request.workspace, pk=recipient_id)
    services.extra_recipient_remove(recipient=recipient)
    messages.success(request, "Recipient removed.")
    return _notifications(request)


@workspace_view(billing=True)
def endpoints(request: HttpRequest) -> HttpResponse:
    created = None
    if request.method == "POST":
        try:
            created = webhooks.webhook_endpoint_create(
                workspace=request.workspace,
                url=request.POST.get("url", ""),
                event_types=request.POST.getlist("event_types"),
                description=request.POST.get("description", ""),
                user=request.user,
            )
        except webhooks.EndpointInvalid as exc:
            messages.error(request, str(exc))
    context = {
        "endpoints": webhook_endpoints(workspace=request.workspace),
        "created": created,  # its secret is shown on this answer only
        "event_types": EventType.choices,
        "nav": "webhooks",
    }
    return render(request, "alerts/webhooks.html", context, status=201 if created else 200)


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, workspace=request.workspace, pk=endpoint_id)


@require_GET
@workspace_view(billing=True)
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    context = {"endpoint": endpoint, "deliveries": endpoint_deliveries(endpoint=endpoint), "nav": "webhooks"}
    return render(request, "alerts/webhook_detail.html", context)


def _to_endpoint(request: HttpRequest, endpoint: WebhookEndpoint) -> HttpResponse:
    return redirect("alerts:webhook_detail", workspace_slug=request.workspace.slug, endpoint_id=endpoint.id)


@require_POST
@workspace_view(billing=True)
def endpoint_enable(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    enabled = request.POST.get("enabled") == "on"
    webhooks.webhook_endpoint_enable(endpoint=endpoint, enabled=enabled)
    messages.success(request, f"Endpoint {'enabled' if enabled else 'disabled'}.")
    return _to_endpoint(request, endpoint)


@require_POST
@workspace_view(billing=True)
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    webhooks.webhook_endpoint_delete(endpoint=_endpoint(request, endpoint_id))
    messages.success(request, "Endpoint deleted.")
    return redirect("alerts:webhooks", workspace_slug=request.workspace.slug)


@require_POST
@workspace_view(billing=True)
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    webhooks.test_event_send(endpoint=endpoint)
    messages.success(request, "Test event sent; its delivery is at the top of the log.")
    return _to_endpoint(request, endpoint)


@require_POST
@workspace_view(billing=True)
def delivery_resend(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(WebhookDelivery, endpoint=endpoint, pk=delivery_id)
    webhooks.delivery_resend(delivery=delivery)
    messages.success(request, f"Event {delivery.event_ref} sent again.")
    return _to_endpoint(request, endpoint)
