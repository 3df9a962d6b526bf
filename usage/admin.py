from django.contrib import admin

from usage.models import Channel, NumberFeeCharge, PhoneNumber, UsageRecord
from wallets.admin import ReadOnlyAdminMixin


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["display_name", "kind", "workspace"]
    list_filter = ["kind"]
    search_fields = ["display_name", "workspace__name"]
    inlines = [PhoneNumberInline]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "channel", "country", "monthly_fee", "purchased_at", "status", "release_scheduled_for"]
    list_filter = ["status", "country"]
    search_fields = ["number", "channel__workspace__name"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["message_id", "workspace", "channel", "message_type", "direction", "status", "total", "occurred_at"]
    list_filter = ["message_type", "direction", "status"]
    search_fields = ["message_id", "workspace__name"]
    list_select_related = ["workspace", "channel"]
    show_full_result_count = False


@admin.register(NumberFeeCharge)
class NumberFeeChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["phone_number", "period_start", "amount", "status", "settled_at"]
    list_filter = ["status"]
    search_fields = ["phone_number__number"]
