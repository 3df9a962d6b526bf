from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from import_export.admin import ExportMixin

from finance.resources import LedgerEntryResource
from payments.models import StripeCustomer
from usage.models import PhoneNumber
from wallets.models import AutoTopUpRule, Membership, Wallet, WalletTransaction, Workspace
from wallets.money import ZERO
from wallets.selectors import wallet_status
from wallets.statements import (
    StatementError,
    statement_month_parse,
    statement_months,
    statement_response,
    wallet_statement,
)


class ReadOnlyAdminMixin:
    """No add, change or delete, from any form, inline or bulk action."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class WalletInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Wallet
    fields = ["kind", "balance"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [WalletInline, MembershipInline]


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


@admin.register(AutoTopUpRule)
class AutoTopUpRuleAdmin(admin.ModelAdmin):
    list_display = ["wallet", "enabled", "threshold", "amount", "updated_at"]
    list_filter = ["enabled"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]
