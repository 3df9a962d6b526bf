"""Stripe customers, received events and charge reversals, read only. Top-ups are watched,
reconciled and refunded by finance staff: their admin (with its reversals) is in finance.admin."""

from django.contrib import admin

from common.admin import ReadOnlyAdminMixin
from payments.models import ChargeReversal, StripeCustomer, StripeEvent


@admin.register(ChargeReversal)
class ChargeReversalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every refund made at Stripe and every dispute, across workspaces."""

    list_display = ["stripe_id", "kind", "topup", "amount", "stripe_status", "reason", "created_at"]
    list_filter = ["kind", "stripe_status"]
    search_fields = ["stripe_id", "topup__payment_intent_id", "topup__wallet__workspace__name"]
    list_select_related = ["topup__wallet__workspace"]


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["workspace", "stripe_id", "card_brand", "card_last4", "card_paused_reason", "updated_at"]
    search_fields = ["workspace__name", "stripe_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "type", "received_at", "processed_at", "attempts", "outcome", "error"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "outcome", "error"]
