"""django-import-export resources: price lists and their prices in and out, usage and ledger out.

A price list is named in a file by the date it takes effect (YYYY-MM-DD, midnight UTC),
which is unique. Every import checks its columns, refuses a key twice in one file and a
negative price, and writes nothing unless every row is valid. Imports never touch the ledger.
"""

from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from finance.services import audit_record
from usage.exports import cell
from usage.models import CarrierFee, NumberPrice, Price, PriceList, UsageRecord
from wallets.models import WalletTransaction


def effective_date_parse(value: object) -> datetime:
    """A price list's start: a YYYY-MM-DD date, taken as midnight UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD.") from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class EffectiveDateWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return effective_date_parse(value)

    def render(self, value, obj=None, **kwargs):
        return value.astimezone(UTC).date().isoformat() if value else ""


class PriceListWidget(widgets.ForeignKeyWidget):
    """The price list whose effective date the cell names."""

    def __init__(self) -> None:
        super().__init__(PriceList, "effective_from")

    def clean(self, value, row=None, **kwargs):
        start = effective_date_parse(value)
        price_list = PriceList.objects.filter(effective_from=start).first()
        if price_list is None:
            raise ValueError(f"No price list takes effect on {start.date().isoformat()}; import or create it first.")
        return price_list

    def render(self, value, obj=None, **kwargs):
        return value.effective_from.astimezone(UTC).date().isoformat() if value else ""


class BlankStringWidget(widgets.CharWidget):
    """Empty cells are "" (a default country / no category), never NULL."""

    def clean(self, value, row=None, **kwargs):
        return "" if value is None else str(value).strip()


class FinanceImportResource(resources.ModelResource):
    """Shared rules of every finance import: exact columns, unique keys within the file,
    an audit entry per confirmed import."""

    def before_import(self, dataset, **kwargs):
        self._seen_keys: dict[tuple, int] = {}
        expected = [field.column_name for field in self.get_import_fields()]
        headers = [str(h or "").strip() for h in dataset.headers or []]
        if sorted(headers) != sorted(expected):
            missing = sorted(set(expected) - set(headers))
            unexpected = sorted(set(headers) - set(expected))
            # import-export records this error and still walks the rows; with the wrong
            # columns every row would fail too, burying the one error that says why.
            del dataset[0 : len(dataset)]
            raise ValueError(
                f"Wrong columns for {self._meta.model._meta.verbose_name_plural}. Expected: {', '.join(expected)}. "
                f"Missing: {', '.join(missing) or 'none'}. Unexpected: {', '.join(unexpected) or 'none'}."
            )

    def before_import_row(self, row, **kwargs):
        key = tuple(str(row.get(name) or "").strip() for name in self._meta.import_id_fields)
        row_number = kwargs.get("row_number")
        first = self._seen_keys.setdefault(key, row_number)
        if first != row_number:
            names = ", ".join(f"{n}={v!r}" for n, v in zip(self._meta.import_id_fields, key, strict=True))
            raise ValidationError(f"Duplicate key in this file ({names}), first on row {first}.")

    def after_import(self, dataset, result, **kwargs):
        if kwargs.get("dry_run") or result.has_errors() or result.has_validation_errors():
            return
        totals = result.totals
        audit_record(
            actor=kwargs.get("user"),
            action="import",
            target=self._meta.model(),
            after={
                "file": kwargs.get("file_name") or "",
                "new": totals.get("new", 0),
                "updated": totals.get("update", 0),
                "unchanged": totals.get("skip", 0),
            },
        )

    class Meta:
        abstract = True


def _text(name: str) -> fields.Field:
    return fields.Field(attribute=name, column_name=name, widget=BlankStringWidget())


def _price_list_field() -> fields.Field:
    return fields.Field(attribute="price_list", column_name="price_list", widget=PriceListWidget())


class PriceListResource(FinanceImportResource):
    effective_from = fields.Field(
        attribute="effective_from", column_name="effective_from", widget=EffectiveDateWidget()
    )

    class Meta:
        model = PriceList
        fields = ["name", "effective_from", "bill_failed_messages", "notes"]
        import_id_fields = ["effective_from"]
        clean_model_instances = True
        skip_unchanged = True


class PriceResource(FinanceImportResource):
    price_list = _price_list_field()
    category = _text("category")
    country = _text("country")

    class Meta:
        model = Price
        fields = ["price_list", "channel_family", "message_type", "category", "direction", "country", "unit_price"]
        import_id_fields = ["price_list", "channel_family", "message_type", "category", "direction", "country"]
        clean_model_instances = True
        skip_unchanged = True


class CarrierFeeResource(FinanceImportResource):
    price_list = _price_list_field()
    country = _text("country")

    class Meta:
        model = CarrierFee
        fields = ["price_list", "message_type", "direction", "country", "amount"]
        import_id_fields = ["price_list", "message_type", "direction", "country"]
        clean_model_instances = True
        skip_unchanged = True


class NumberPriceResource(FinanceImportResource):
    price_list = _price_list_field()
    country = _text("country")

    class Meta:
        model = NumberPrice
        fields = ["price_list", "country", "monthly_fee"]
        import_id_fields = ["price_list", "country"]
        clean_model_instances = True
        skip_unchanged = True


class SpreadsheetSafeExport(resources.ModelResource):
    """Text cells that a spreadsheet would run as a formula are neutralised as in the usage
    CSV (usage.exports.cell); numbers and dates are left as they are, so they still sum."""

    UNTOUCHED_WIDGETS = (widgets.NumberWidget, widgets.DateTimeWidget, widgets.DateWidget, widgets.BooleanWidget)

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        return value if isinstance(field.widget, self.UNTOUCHED_WIDGETS) else cell(value)


class LedgerEntryResource(SpreadsheetSafeExport):
    workspace = fields.Field(attribute="wallet__workspace__slug", column_name="workspace")
    wallet_kind = fields.Field(attribute="wallet__kind", column_name="wallet_kind")
    created_by = fields.Field(attribute="created_by__username", column_name="created_by")

    class Meta:
        model = WalletTransaction
        fields = [
            "id",
            "created_at",
            "workspace",
            "wallet_kind",
            "kind",
            "amount",
            "balance_before",
            "balance_after",
            "reference",
            "memo",
            "idempotency_key",
            "created_by",
        ]
        export_order = fields


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
