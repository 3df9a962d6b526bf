"""The Django admin as finance staff use it: audit log, ledger checks, refunds, price tables
(audited imports), each wallet with its card, numbers, top-ups and ledger (adjustments, export),
and the top-ups (reconcile with Stripe, refund). Finance builds on payments, usage and wallets,
so their cross-app admin pages live here rather than in the apps below."""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Min, Q, QuerySet, Sum
from django.forms.models import model_to_dict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from import_export.admin import ExportMixin, ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from common.admin import ReadOnlyAdminMixin
from finance.models import AuditEntry, LedgerCheck, Refund
from finance.resources import (
    CarrierFeeResource,
    LedgerEntryResource,
    NumberPriceResource,
    PriceListResource,
    PriceResource,
    WhatsAppRateCardResource,
)
from finance.services import audit_record
from payments.models import ChargeReversal, StripeCustomer, TopUp
from payments.receipts import receipt_pdf, topup_receipt
from payments.services import payments_reconcile
from usage.models import CarrierFee, NumberPrice, PhoneNumber, Price, PriceList
from wallets.forms import MONEY_FORMFIELD_OVERRIDES
from wallets.models import AutoTopUpRule, Wallet, WalletTransaction
from wallets.money import ZERO
from wallets.pdf import pdf_response
from wallets.selectors import wallet_status
from wallets.statements import (
    StatementError,
    statement_month_parse,
    statement_months,
    statement_response,
    wallet_statement,
)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_id", "reason"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor__username", "target_id", "reason"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    actions = None


@admin.register(LedgerCheck)
class LedgerCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ran_at", "ok", "wallets_checked", "rows_checked"]
    list_filter = ["ok"]
    actions = None


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "topup", "amount", "status", "stripe_refund_id", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["stripe_refund_id", "payment_intent_id", "topup__wallet__workspace__name"]
    actions = None


def _snapshot(obj) -> dict:
    return {key: str(value) for key, value in model_to_dict(obj).items()}


class PriceAdmin(ImportExportModelAdmin):
    """Price tables: edited here or imported (CSV/XLSX, previewed); every change is audited."""

    formats = [CSV, XLSX]
    formfield_overrides = MONEY_FORMFIELD_OVERRIDES
    import_template_name = "admin/finance/import.html"
    actions = None  # no bulk delete of prices in force

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        before = _snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="price_change" if change else "price_add",
            target=obj,
            before=before,
            after=_snapshot(obj),
        )


@admin.register(PriceList)
class PriceListAdmin(PriceAdmin):
    resource_classes = [PriceListResource]
    list_display = ["name", "effective_from", "whatsapp_pricing_model", "bill_failed_messages", "created_at"]


@admin.register(Price)
class PriceItemAdmin(PriceAdmin):
    resource_classes = [PriceResource, WhatsAppRateCardResource]
    list_display = [
        "price_list", "channel_family", "message_type", "category", "direction", "country", "pricing_type",
        "tier_start", "unit_price",
    ]  # fmt: skip
    list_filter = ["price_list", "channel_family", "message_type", "direction", "category", "pricing_type"]
    search_fields = ["country"]


@admin.register(CarrierFee)
class CarrierFeeAdmin(PriceAdmin):
    resource_classes = [CarrierFeeResource]
    list_display = ["price_list", "message_type", "direction", "country", "amount"]
    list_filter = ["price_list", "message_type", "direction"]


@admin.register(NumberPrice)
class NumberPriceAdmin(PriceAdmin):
    resource_classes = [NumberPriceResource]
    list_display = ["price_list", "country", "monthly_fee"]
    list_filter = ["price_list"]


# --- wallets and their ledger, as finance staff see them ------------------------------


class LedgerInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WalletTransaction
    fields = ["created_at", "kind", "amount", "balance_after", "reference", "created_by"]
    readonly_fields = fields
    ordering = ["-id"]
    max_num = 0
    show_change_link = True


def _lines(template: str, rows: list[tuple]) -> str:
    return format_html_join(mark_safe("<br>"), template, rows) or "none"


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["workspace", "kind", "balance", "state", "currency", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["workspace__name", "workspace__slug"]
    list_select_related = ["workspace"]
    readonly_fields = [
        "workspace",
        "kind",
        "currency",
        "balance",
        "state",
        "auto_top_up_settings",
        "saved_card",
        "recent_top_ups",
        "numbers",
        "ledger_link",
        "statements",
        "created_at",
        "updated_at",
    ]
    inlines = [LedgerInline]
    actions = ["adjust"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # wallets are created with their workspace

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("finance.post_adjustment")

    @admin.display(description="State")
    def state(self, wallet: Wallet) -> str:
        return wallet_status(kind=wallet.kind, balance=wallet.balance).state

    @admin.display(description="Auto top-up")
    def auto_top_up_settings(self, wallet: Wallet) -> str:
        rule = AutoTopUpRule.objects.filter(wallet=wallet).first()
        if rule is None:
            return "not set up"
        return f"{'on' if rule.enabled else 'off'}: {rule.amount} when below {rule.threshold}"

    @admin.display(description="Saved card")
    def saved_card(self, wallet: Wallet) -> str:
        customer = StripeCustomer.objects.filter(workspace_id=wallet.workspace_id).first()
        if customer is None or not customer.has_saved_card:
            return "none"
        return f"{customer.card_brand} ending {customer.card_last4}"

    @admin.display(description="Recent top-ups")
    def recent_top_ups(self, wallet: Wallet) -> str:
        rows = [
            (
                reverse("admin:payments_topup_change", args=[t.pk]),
                t.pk,
                t.created_at.date(),
                t.amount_paid or t.amount,
                t.get_status_display(),
            )
            for t in wallet.top_ups.order_by("-id")[:10]
        ]
        return _lines('<a href="{}">top-up {}</a> {} {} {}', rows)

    @admin.display(description="Numbers")
    def numbers(self, wallet: Wallet) -> str:
        rows = [
            (n.number, n.get_status_display(), n.monthly_fee, n.release_scheduled_for or "")
            for n in PhoneNumber.objects.filter(channel__workspace_id=wallet.workspace_id).order_by("number")
        ]
        return _lines("{} {} {}/month {}", rows)

    @admin.display(description="Ledger")
    def ledger_link(self, wallet: Wallet) -> str:
        url = reverse("admin:wallets_wallettransaction_changelist") + f"?wallet__id__exact={wallet.pk}"
        adjust = reverse("finance_adjustment", args=[wallet.pk])
        return format_html('<a href="{}">All ledger rows</a> · <a href="{}">Post an adjustment</a>', url, adjust)

    @admin.display(description="Monthly statements")
    def statements(self, wallet: Wallet) -> str:
        rows = [
            (
                month.strftime("%B %Y"),
                reverse("admin:wallets_wallet_statement", args=[wallet.pk, f"{month:%Y-%m}", "pdf"]),
                reverse("admin:wallets_wallet_statement", args=[wallet.pk, f"{month:%Y-%m}", "csv"]),
            )
            for month in statement_months(wallet=wallet)
        ]
        return _lines('{}: <a href="{}">PDF</a> · <a href="{}">CSV</a>', rows)

    def get_urls(self) -> list:
        statement = path(
            "<int:wallet_id>/statements/<str:month>.<str:fmt>",
            self.admin_site.admin_view(self.statement_view),
            name="wallets_wallet_statement",
        )
        return [statement, *super().get_urls()]

    def statement_view(self, request: HttpRequest, wallet_id: int, month: str, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("workspace"), pk=wallet_id)
        try:
            statement = wallet_statement(wallet=wallet, month=statement_month_parse(month))
        except StatementError as exc:
            raise Http404(str(exc)) from exc
        if fmt not in ("pdf", "csv"):
            raise Http404("Statements are PDF or CSV.")
        return statement_response(statement, fmt)

    @admin.action(description="Post an adjustment to the selected wallet", permissions=["adjust"])
    def adjust(self, request: HttpRequest, queryset) -> HttpResponseRedirect | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one wallet to adjust.", level="error")
            return None
        return redirect("finance_adjustment", queryset.get().pk)


class WalletKindFilter(admin.ChoicesFieldListFilter):
    """wallet__kind and kind both have the verbose name "kind": say which is which."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = "wallet (WhatsApp or SMS)"


class PostingKindFilter(admin.ChoicesFieldListFilter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = "posting kind"


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdminMixin, ExportMixin, admin.ModelAdmin):
    """The ledger: read and export only (the database refuses UPDATE and DELETE as well)."""

    resource_classes = [LedgerEntryResource]
    list_display = ["id", "wallet", "kind", "amount", "balance_after", "reference", "created_by", "created_at"]
    list_filter = [
        ("wallet__workspace", admin.RelatedOnlyFieldListFilter),
        ("wallet__kind", WalletKindFilter),
        ("kind", PostingKindFilter),
        "created_at",
    ]
    search_fields = ["wallet__workspace__name", "wallet__workspace__slug", "reference", "idempotency_key", "memo"]
    list_select_related = ["wallet__workspace", "created_by"]
    date_hierarchy = "created_at"
    actions = None
    import_export_change_list_template = "admin/wallets/wallettransaction/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # Totals over every filtered row, not just this page.
            response.context_data["ledger_totals"] = {
                key: value or ZERO
                for key, value in changelist.queryset.order_by()
                .aggregate(
                    credits=Sum("amount", filter=Q(amount__gt=0)),
                    debits=Sum("amount", filter=Q(amount__lt=0)),
                    net=Sum("amount"),
                )
                .items()
            }
        return response


# --- top-ups ---------------------------------------------------------------------------


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
        "receipt_link",
        "created_by",
        "created_at",
    ]
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
