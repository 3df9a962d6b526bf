from datetime import timedelta

from django.contrib import admin
from django.db.models import Min, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from finance.services import audit_record
from payments.models import ChargeReversal, StripeCustomer, StripeEvent, TopUp
from payments.services import payments_reconcile
from wallets.admin import ReadOnlyAdminMixin


class ChargeReversalInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Refunds made at Stripe and disputes, beside the top-up they took money from."""

    model = ChargeReversal
    fields = readonly_fields = ["kind", "stripe_id", "amount", "stripe_status", "reason", "debit", "credit_back"]
    extra = 0
    show_change_link = True


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Finance watches top-ups here; they change only through Stripe's word (services)."""

    inlines = [ChargeReversalInline]
    list_display = [
        "id",
        "wallet",
        "kind",
        "status",
        "amount",
        "amount_paid",
        "failure_code",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "kind", "wallet__kind"]
    search_fields = ["wallet__workspace__name", "checkout_session_id", "payment_intent_id"]
    list_select_related = ["wallet__workspace", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["refund_link"]
    actions = ["reconcile"]

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.reconcile_payments")

    @admin.display(description="Refund")
    def refund_link(self, topup: TopUp) -> str:
        if topup.status != TopUp.Status.SUCCEEDED:
            return "only paid top-ups can be refunded"
        return format_html('<a href="{}">Refund through Stripe…</a>', reverse("finance_refund", args=[topup.pk]))

    @admin.action(description="Reconcile selected top-ups with Stripe", permissions=["reconcile"])
    def reconcile(self, request: HttpRequest, queryset: QuerySet[TopUp]) -> None:
        # The reconcile service works on a time window: the one holding every selected top-up.
        since = queryset.aggregate(first=Min("created_at"))["first"] - timedelta(minutes=1)
        before = {t.pk: t.status for t in queryset}
        report = payments_reconcile(since=since)
        after = dict(TopUp.objects.filter(pk__in=before).values_list("pk", "status"))
        for topup in queryset:
            audit_record(
                actor=request.user,
                action="reconcile",
                target=topup,
                before={"status": before[topup.pk]},
                after={"status": after[topup.pk]},
            )
        changed = sum(1 for pk in before if before[pk] != after[pk])
        self.message_user(
            request,
            f"Reconciled {len(before)} top-up(s) with Stripe: {changed} changed, "
            f"{len(report.flagged)} flagged, {len(report.problems)} problem(s).",
        )
        for line in report.flagged + report.problems:
            self.message_user(request, line, level="warning")


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
