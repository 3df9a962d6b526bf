from django.contrib import admin

from payments.models import StripeCustomer, StripeEvent, TopUp
from wallets.admin import ReadOnlyAdminMixin


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Finance watches top-ups here; they change only through Stripe's word (services)."""

    list_display = ["id", "wallet", "kind", "status", "amount", "amount_paid", "created_by", "created_at"]
    list_filter = ["kind", "status", "wallet__kind"]
    search_fields = ["wallet__workspace__name", "checkout_session_id", "payment_intent_id"]
    date_hierarchy = "created_at"


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["workspace", "stripe_id", "card_brand", "card_last4", "updated_at"]
    search_fields = ["workspace__name", "stripe_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "type", "received_at", "processed_at", "attempts", "outcome", "error"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "outcome", "error"]
