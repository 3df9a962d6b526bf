"""Stripe customers and received events, read only. Top-ups are watched, reconciled and
refunded by finance staff: their admin is in finance.admin."""

from django.contrib import admin

from common.admin import ReadOnlyAdminMixin
from payments.models import StripeCustomer, StripeEvent


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["workspace", "stripe_id", "card_brand", "card_last4", "updated_at"]
    search_fields = ["workspace__name", "stripe_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "type", "received_at", "processed_at", "attempts", "outcome", "error"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "outcome", "error"]
