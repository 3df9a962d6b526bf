from django.contrib import admin
from django.http import HttpRequest

from wallets.models import AutoTopUpRule, Membership, Wallet, WalletTransaction, Workspace


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


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class LedgerInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WalletTransaction
    fields = ["created_at", "kind", "amount", "balance_after", "reference", "created_by"]
    readonly_fields = fields
    ordering = ["-id"]
    max_num = 0
    show_change_link = True


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["workspace", "kind", "balance", "currency", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["workspace__name", "workspace__slug"]
    readonly_fields = ["workspace", "kind", "currency", "balance", "created_at", "updated_at"]
    inlines = [LedgerInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # wallets are created with their workspace

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "wallet", "kind", "amount", "balance_after", "reference", "created_by", "created_at"]
    list_filter = ["kind", "wallet__kind", "created_at"]
    search_fields = ["wallet__workspace__name", "wallet__workspace__slug", "reference", "idempotency_key"]
    list_select_related = ["wallet__workspace", "created_by"]
    date_hierarchy = "created_at"
    actions = None


@admin.register(AutoTopUpRule)
class AutoTopUpRuleAdmin(admin.ModelAdmin):
    list_display = ["wallet", "enabled", "threshold", "amount", "updated_at"]
    list_filter = ["enabled"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]
