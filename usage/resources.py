"""django-import-export resources of usage: records out, spreadsheet-safe."""

from import_export import fields, resources, widgets

from usage.exports import cell
from usage.models import UsageRecord


class SpreadsheetSafeExport(resources.ModelResource):
    """Text cells that a spreadsheet would run as a formula are neutralised as in the usage
    CSV (usage.exports.cell); numbers and dates are left as they are, so they still sum."""

    UNTOUCHED_WIDGETS = (widgets.NumberWidget, widgets.DateTimeWidget, widgets.DateWidget, widgets.BooleanWidget)

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        return value if isinstance(field.widget, self.UNTOUCHED_WIDGETS) else cell(value)


class UsageRecordResource(SpreadsheetSafeExport):
    workspace = fields.Field(attribute="workspace__slug", column_name="workspace")
    channel = fields.Field(attribute="channel__display_name", column_name="channel")

    class Meta:
        model = UsageRecord
        fields = [
            "id",
            "occurred_at",
            "workspace",
            "channel",
            "message_id",
            "message_type",
            "category",
            "direction",
            "status",
            "country",
            "segments",
            "unit_price",
            "cost",
            "carrier_fee",
            "total",
        ]
        export_order = fields
