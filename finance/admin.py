from django.contrib import admin
from django.forms.models import model_to_dict
from django.http import HttpRequest
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from finance.models import AuditEntry, LedgerCheck, Refund
from finance.resources import CarrierFeeResource, NumberPriceResource, PriceListResource, PriceResource
from finance.services import audit_record
from usage.models import CarrierFee, NumberPrice, Price, PriceList
from wallets.admin import ReadOnlyAdminMixin


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
    list_display = ["name", "effective_from", "bill_failed_messages", "created_at"]


@admin.register(Price)
class PriceItemAdmin(PriceAdmin):
    resource_classes = [PriceResource]
    list_display = ["price_list", "channel_family", "message_type", "category", "direction", "country", "unit_price"]
    list_filter = ["price_list", "channel_family", "message_type", "direction"]
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
