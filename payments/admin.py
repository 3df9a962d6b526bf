from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Min, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from finance.services import audit_record
from payments.models import StripeCustomer, StripeEvent, TopUp
from payments.receipts import receipt_pdf, topup_receipt
from payments.services import payments_reconcile
from wallets.admin import ReadOnlyAdminMixin
from wallets.pdf import pdf_response


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Finance watches top-ups here; they change only through Stripe's word (services)."""

    list_display = [
        "id", "wallet", "kind", "status", "amount", "amount_paid", "receipt_link", "created_by", "created_at"
    ]  # fmt: skip
    list_filter = ["status", "kind", "wallet__kind"]
    search_fields = ["wallet__workspace__name", "checkout_session_id", "payment_intent_id"]
    list_select_related = ["wallet__workspace", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["receipt_link", "refund_link"]
    actions = ["reconcile"]

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.reconcile_payments")

    def get_urls(self) -> list:
        receipt = path(
            "<int:topup_id>/receipt.pdf",
            self.admin_site.admin_view(self.receipt_view),
            name="payments_topup_receipt",
        )
        return [receipt, *super().get_urls()]

    def receipt_view(self, request: HttpRequest, topup_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        topup = get_object_or_404(TopUp.objects.select_related("wallet__workspace", "posting"), pk=topup_id)
        try:
            receipt = topup_receipt(topup=topup)
        except ValueError as exc:
            raise Http404(str(exc)) from exc
        return pdf_response(receipt_pdf(receipt), receipt.filename)

    @admin.display(description="Receipt")
    def receipt_link(self, topup: TopUp) -> str:
        if topup.status != TopUp.Status.SUCCEEDED:
            return "-"
        return format_html('<a href="{}">PDF</a>', reverse("admin:payments_topup_receipt", args=[topup.pk]))

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


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["workspace", "stripe_id", "card_brand", "card_last4", "updated_at"]
    search_fields = ["workspace__name", "stripe_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "type", "received_at", "processed_at", "attempts", "outcome", "error"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "outcome", "error"]
