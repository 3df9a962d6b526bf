"""django-import-export resources: price lists and their prices in and out, the ledger out
(usage records out: usage.resources).

A price list is named in a file by the date it takes effect (YYYY-MM-DD, midnight UTC),
which is unique. Every import checks its columns, refuses a key twice in one file and a
negative price, and writes nothing unless every row is valid. Imports never touch the ledger.

WhatsApp's per-message rate cards (category x country x pricing type x volume tier) have
their own file, `WhatsAppRateCardResource`; the generic price file holds flat rates only.
"""

import re
from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from finance.services import audit_record
from usage.models import CarrierFee, NumberPrice, Price, PriceList, UsageRecord
from usage.resources import SpreadsheetSafeExport
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

    # Columns a file may leave out (the model's default then applies): settings added after
    # files of the earlier shape were written, which stay importable.
    optional_columns: frozenset[str] = frozenset()

    def before_import(self, dataset, **kwargs):
        self._seen_keys: dict[tuple, int] = {}
        expected = [field.column_name for field in self.get_import_fields()]
        headers = [str(h or "").strip() for h in dataset.headers or []]
        missing = sorted(set(expected) - set(headers) - self.optional_columns)
        unexpected = sorted(set(headers) - set(expected))
        if missing or unexpected or len(headers) != len(set(headers)):
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

    optional_columns = frozenset(
        {
            "whatsapp_pricing_model",
            "whatsapp_bill_failed",
            "whatsapp_charge_reported_price",
            "whatsapp_authorize_covers_price",
        }
    )

    class Meta:
        model = PriceList
        fields = [
            "name",
            "effective_from",
            "bill_failed_messages",
            "whatsapp_pricing_model",
            "whatsapp_bill_failed",
            "whatsapp_charge_reported_price",
            "whatsapp_authorize_covers_price",
            "notes",
        ]
        import_id_fields = ["effective_from"]
        clean_model_instances = True
        skip_unchanged = True


class PriceResource(FinanceImportResource):
    """Flat rates (regular, first tier): SMS, MMS, and WhatsApp rates without tiers."""

    price_list = _price_list_field()
    category = _text("category")
    country = _text("country")

    def get_queryset(self):
        return Price.objects.filter(pricing_type=UsageRecord.PricingType.REGULAR, tier_start=1)

    class Meta:
        model = Price
        fields = ["price_list", "channel_family", "message_type", "category", "direction", "country", "unit_price"]
        import_id_fields = ["price_list", "channel_family", "message_type", "category", "direction", "country"]
        clean_model_instances = True
        skip_unchanged = True


COUNTRY_RE = re.compile(r"^([A-Z]{2})?$")


class WhatsAppRateCardResource(FinanceImportResource):
    """A per-message WhatsApp rate card: one row per category, country (blank: every other
    country), pricing type and volume tier, outbound. Rows of one category and country that
    differ in `tier_start` are its tiers; a row for a free window's type charges that window.

    Besides the common checks, a file is refused whole when a row names a conversation-era
    version, a country that is not two capital letters, a tier without its first tier (in
    the file or already stored), or a tier of a free window (window rates are flat)."""

    price_list = _price_list_field()
    country = _text("country")

    class Meta:
        model = Price
        name = "WhatsApp per-message rate card"
        fields = ["price_list", "category", "country", "pricing_type", "tier_start", "unit_price"]
        import_id_fields = ["price_list", "category", "country", "pricing_type", "tier_start"]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True

    FIXED = {"channel_family": Price.ChannelFamily.WHATSAPP, "message_type": "whatsapp", "direction": "outbound"}

    def get_queryset(self):
        return Price.objects.filter(**self.FIXED).order_by("price_list__effective_from", "category", "country")

    def init_instance(self, row=None):
        return Price(**self.FIXED)

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # Which (version, category, country, type) have a first tier in this file.
        self._first_tiers = {
            _rate_key(row) for row in dataset.dict if str(row.get("tier_start") or "").strip() in ("1", "")
        }

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        country = str(row.get("country") or "").strip()
        if not COUNTRY_RE.match(country):
            raise ValidationError(f"Country {country!r} is not an ISO 3166-1 alpha-2 code in capitals (or blank).")
        if not str(row.get("category") or "").strip():
            raise ValidationError("A WhatsApp rate needs its category.")
        price_list = PriceListWidget().clean(row.get("price_list"))
        if price_list.whatsapp_pricing_model != UsageRecord.PricingModel.PER_MESSAGE:
            raise ValidationError(f"{price_list} prices WhatsApp by conversation; a rate card needs a per-message one.")
        tier = str(row.get("tier_start") or "1").strip()
        if not tier.isascii() or not tier.isdigit() or int(tier) < 1:
            raise ValidationError(f"tier_start {tier!r} must be a whole number from 1 (the month's first message).")
        tier = str(int(tier))
        pricing_type = str(row.get("pricing_type") or "").strip()
        if tier != "1" and pricing_type != UsageRecord.PricingType.REGULAR:
            raise ValidationError(f"A {pricing_type} rate is flat: only tier_start 1 is allowed.")
        if tier != "1" and _rate_key(row) not in self._first_tiers:
            category = str(row.get("category")).strip()
            stored = self.get_queryset().filter(
                price_list=price_list, category=category, country=country, pricing_type=pricing_type, tier_start=1
            )
            if not stored.exists():
                raise ValidationError(
                    f"Tier from message {tier} of {category} {country or 'default'} has no first tier (tier_start 1)."
                )


def _rate_key(row) -> tuple[str, ...]:
    return tuple(str(row.get(name) or "").strip() for name in ("price_list", "category", "country", "pricing_type"))


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
