from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from import_export.admin import ExportMixin

from common.admin import ReadOnlyAdminMixin, RecentReadsChangelistMixin
from usage.models import ApiKey, Channel, PhoneNumber, UsageRecord, WhatsAppVolume
from usage.resources import UsageRecordResource
from usage.services import api_key_create, api_key_revoke
from wallets.forms import MONEY_FORMFIELD_OVERRIDES


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0
    formfield_overrides = MONEY_FORMFIELD_OVERRIDES


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["display_name", "kind", "workspace"]
    list_filter = ["kind"]
    search_fields = ["display_name", "workspace__name"]
    inlines = [PhoneNumberInline]


@admin.register(UsageRecord)
class UsageRecordAdmin(RecentReadsChangelistMixin, ReadOnlyAdminMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [UsageRecordResource]
    list_display = ["message_id", "workspace", "channel", "message_type", "direction", "status", "total", "occurred_at"]
    list_filter = ["message_type", "direction", "status", "category", "free_reason", "occurred_at"]
    search_fields = ["message_id", "workspace__name"]
    list_select_related = ["workspace", "channel"]
    show_full_result_count = False


@admin.register(WhatsAppVolume)
class WhatsAppVolumeAdmin(RecentReadsChangelistMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The month's paid WhatsApp messages per category and market: what picked each tier."""

    list_display = ["workspace", "month", "category", "market", "messages"]
    list_filter = ["month", "category"]
    search_fields = ["workspace__name", "market"]
    list_select_related = ["workspace"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here (the secret is shown once, in a message) and revoked; never edited."""

    list_display = ["name", "workspace", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "workspace__name"]
    list_select_related = ["workspace"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["workspace", "name"]
        return ["workspace", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            return
        created, secret = api_key_create(workspace=obj.workspace, name=obj.name, created_by=request.user)
        obj.pk, obj.prefix, obj.created_at = created.pk, created.prefix, created.created_at
        messages.warning(request, f"API key created. Copy it now, it will not be shown again: {secret}")

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked {queryset.count()} key(s).")
