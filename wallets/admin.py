"""Workspaces, their members and their wallets' auto top-up rules. The wallet and ledger
pages finance staff use (saved card, numbers, top-ups, adjustments, export) are in finance.admin."""

from django.contrib import admin

from common.admin import ReadOnlyAdminMixin
from wallets.forms import MONEY_FORMFIELD_OVERRIDES
from wallets.models import AutoTopUpRule, Membership, Wallet, Workspace


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


@admin.register(AutoTopUpRule)
class AutoTopUpRuleAdmin(admin.ModelAdmin):
    formfield_overrides = MONEY_FORMFIELD_OVERRIDES
    list_display = ["wallet", "enabled", "threshold", "amount", "updated_at"]
    list_filter = ["enabled"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]
