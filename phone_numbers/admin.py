"""Finance watches numbers and their fee charges here; the charges change only through services."""

from django.contrib import admin

from common.admin import ReadOnlyAdminMixin, RecentReadsChangelistMixin
from usage.models import NumberFeeCharge, PhoneNumber
from wallets.forms import MONEY_FORMFIELD_OVERRIDES


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    formfield_overrides = MONEY_FORMFIELD_OVERRIDES
    list_display = ["number", "channel", "country", "monthly_fee", "purchased_at", "status", "release_scheduled_for"]
    list_filter = ["status", "country"]
    search_fields = ["number", "channel__workspace__name"]


@admin.register(NumberFeeCharge)
class NumberFeeChargeAdmin(RecentReadsChangelistMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["phone_number", "period_start", "amount", "status", "settled_at"]
    list_filter = ["status"]
    search_fields = ["phone_number__number"]
