"""Shapes of the platform API: the schema is generated from these serializers, and the
authorize and estimate views validate their requests with them (`is_valid`). The usage batch
of up to 1,000 events is checked by usage.events' plain functions instead (fast, batch-wide);
tests/test_api_rules_match.py derives values from each field here and holds the two equal.
Answers are formatted here too (money as strings)."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from usage.events import (
    COUNTRY_FORM_RE,
    E164_RE,
    FUTURE_TOLERANCE,
    MAX_ID,
    MAX_MESSAGE_ID_LENGTH,
    MAX_RECIPIENTS,
    MESSAGE_ID_RE,
    FieldError,
    clean_channel_ref,
    clean_occurred_at,
    clean_reported_price,
)
from usage.models import UsageRecord
from usage.segments import MAX_SEGMENTS
from usage.services import MAX_BATCH
from wallets.models import Wallet
from wallets.money import money_field_kwargs


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(coerce_to_string=True, **money_field_kwargs())


CHANNEL_HELP = "The channel id, or its phone number in E.164 form."
# The longest body that can fit MAX_SEGMENTS segments (GSM-7, 153 characters a part); a body
# in UCS-2 (any character outside GSM-7) fits 67 a part, which a schema cannot express.
MAX_BODY_LENGTH = MAX_SEGMENTS * 153
BODY_HELP = (
    f"SMS without `segments`: the body is counted in segments, at most {MAX_SEGMENTS} "
    f"({MAX_BODY_LENGTH} GSM-7 characters, {MAX_SEGMENTS * 67} in UCS-2)."
)


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID}, {"type": "string", "pattern": E164_RE.pattern}]}
)
class ChannelRefField(serializers.Field):
    """An integer id or an E.164 string, read by usage.events.clean_channel_ref."""

    def to_internal_value(self, data: object) -> int | str:
        try:
            return clean_channel_ref(data)
        except FieldError as error:
            raise serializers.ValidationError(error.message) from None

    def to_representation(self, value: object) -> object:
        return value


@extend_schema_field({"type": "string", "format": "date-time"})
class OccurredAtField(serializers.Field):
    """When a message happened, read by usage.events.clean_occurred_at: an offset is required
    and the future is refused (DRF's DateTimeField would take a naive time as local)."""

    def to_internal_value(self, data: object) -> datetime:
        try:
            return clean_occurred_at(data, now=timezone.now())
        except FieldError as error:
            raise serializers.ValidationError(error.message) from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


# 0 to MAX_REPORTED_PRICE (1000) with at most 6 places, as a pattern: a string has no maximum.
# tests/test_api_rules_match.py holds it to clean_reported_price.
REPORTED_PRICE_PATTERN = r"^(\d{1,3}(\.\d{1,6})?|1000(\.0{1,6})?)$"


@extend_schema_field({"type": "string", "pattern": REPORTED_PRICE_PATTERN, "description": "USD, 0 to 1000"})
class ReportedPriceField(serializers.Field):
    """The price per message Meta charged, read by usage.events.clean_reported_price."""

    def to_internal_value(self, data: object) -> Decimal | None:
        try:
            return clean_reported_price(data, message_type=UsageRecord.MessageType.WHATSAPP)
        except FieldError as error:
            raise serializers.ValidationError(error.message) from None

    def to_representation(self, value: Decimal) -> str:
        return str(value)


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would take 123 as "123", which the schema does not allow."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's IntegerField would take "2", 2.0 and true."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """A JSON string among the choices: DRF's ChoiceField compares str(value)."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _choices(choices: type) -> list[str]:
    return [value for value in choices.values if value]


CATEGORY_CHOICES = _choices(UsageRecord.Category)
PRICING_TYPE_CHOICES = _choices(UsageRecord.PricingType)


def _category_field(help_text: str = "") -> StrictChoiceField:
    """Meta's WhatsApp category; absent (null or "") for SMS and MMS."""
    return StrictChoiceField(
        choices=CATEGORY_CHOICES, required=False, allow_null=True, allow_blank=True, help_text=help_text
    )


def _body_field() -> StrictCharField:
    """An SMS body, counted in segments when `segments` is not given."""
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_BODY_LENGTH,
        help_text=BODY_HELP,
    )


class MetaPricingSerializer(serializers.Serializer):
    """The `pricing` object of Meta's WhatsApp status webhook, as it arrives."""

    pricing_model = StrictChoiceField(
        choices=["PMP", "CBP"], required=False, help_text="PMP per message (from 1 July 2025), CBP per conversation"
    )
    category = StrictChoiceField(choices=CATEGORY_CHOICES)
    type = StrictChoiceField(choices=PRICING_TYPE_CHOICES, required=False, help_text="Default regular")
    billable = serializers.BooleanField(required=False, help_text="Being retired by Meta; must agree with type")


class UsageEventSerializer(serializers.Serializer):
    id = StrictRegexField(
        MESSAGE_ID_RE.pattern,
        min_length=1,
        max_length=MAX_MESSAGE_ID_LENGTH,
        trim_whitespace=False,
        help_text="The platform's message id: no control characters, not only spaces. "
        "A repeated id is not charged again.",
    )
    channel = ChannelRefField(help_text=CHANNEL_HELP)
    type = StrictChoiceField(choices=UsageRecord.MessageType.choices)
    category = _category_field("WhatsApp only, without `pricing`: Meta's category.")
    pricing = MetaPricingSerializer(
        required=False, allow_null=True, help_text="WhatsApp only: Meta's pricing object; wins over category"
    )
    pricing_type = StrictChoiceField(
        choices=PRICING_TYPE_CHOICES, required=False, allow_null=True, help_text="WhatsApp only, without `pricing`"
    )
    reported_price = ReportedPriceField(
        required=False,
        allow_null=True,
        help_text="WhatsApp only: the price per message Meta charged, if the platform knows it (USD string)",
    )
    direction = StrictChoiceField(choices=UsageRecord.Direction.choices)
    status = StrictChoiceField(choices=UsageRecord.Status.choices)
    country = StrictRegexField(
        COUNTRY_FORM_RE.pattern, trim_whitespace=False, help_text="Destination country, ISO 3166-1 alpha-2"
    )
    segments = StrictIntegerField(
        min_value=1, max_value=MAX_SEGMENTS, required=False, allow_null=True, help_text="Wins over body."
    )
    body = _body_field()
    occurred_at = OccurredAtField(
        help_text=f"ISO 8601 with a UTC offset; at most {FUTURE_TOLERANCE.seconds // 60} minutes in the future"
    )


class UsageBatchSerializer(serializers.Serializer):
    # A ListField, not many=True: drf-spectacular writes its bounds as minItems / maxItems.
    events = serializers.ListField(child=UsageEventSerializer(), min_length=1, max_length=MAX_BATCH)


class PerWalletMoneySerializer(serializers.Serializer):
    sms = _money()
    whatsapp = _money()


class UsageResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    charged = PerWalletMoneySerializer()
    balances = PerWalletMoneySerializer()


class AuthorizeRequestSerializer(serializers.Serializer):
    channel = ChannelRefField(help_text=CHANNEL_HELP)
    direction = StrictChoiceField(choices=UsageRecord.Direction.choices)
    type = StrictChoiceField(choices=UsageRecord.MessageType.choices)
    category = _category_field("WhatsApp: needed when the price list requires sends to be covered by the balance")
    country = StrictRegexField(
        COUNTRY_FORM_RE.pattern,
        trim_whitespace=False,
        required=False,
        allow_null=True,
        help_text="WhatsApp: as category; the recipient's country",
    )
    pricing_type = StrictChoiceField(choices=PRICING_TYPE_CHOICES, required=False, allow_null=True)


class AuthorizationSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=["sms_wallet_empty", "whatsapp_balance_negative", "whatsapp_balance_below_price", "number_released"],
        allow_null=True,
    )
    balance = _money()


class EstimateRequestSerializer(serializers.Serializer):
    channel = ChannelRefField(help_text=CHANNEL_HELP)
    type = StrictChoiceField(choices=UsageRecord.MessageType.choices)
    category = _category_field()
    pricing_type = StrictChoiceField(choices=PRICING_TYPE_CHOICES, required=False, allow_null=True)
    direction = StrictChoiceField(choices=UsageRecord.Direction.choices, required=False, default="outbound")
    country = StrictRegexField(COUNTRY_FORM_RE.pattern, trim_whitespace=False)
    segments = StrictIntegerField(min_value=1, max_value=MAX_SEGMENTS, required=False, allow_null=True)
    body = _body_field()
    recipients = StrictIntegerField(min_value=1, max_value=MAX_RECIPIENTS)


class TierPartSerializer(serializers.Serializer):
    tier = serializers.IntegerField()
    first_message = serializers.IntegerField(help_text="The month's message count this part starts at")
    messages = serializers.IntegerField()
    unit_price = _money()
    cost = _money()


class EstimateSerializer(serializers.Serializer):
    unit_price = _money()
    segments = serializers.IntegerField()
    cost_per_message = _money()
    carrier_fee_per_message = _money()
    total_per_message = _money()
    recipients = serializers.IntegerField()
    total = _money()
    balance = _money()
    balance_after = _money()
    covered = serializers.BooleanField()
    pricing_model = serializers.ChoiceField(choices=UsageRecord.PricingModel.choices, help_text="Blank for SMS/MMS")
    tier = serializers.IntegerField(allow_null=True, help_text="WhatsApp: the volume tier the first message lands in")
    tiers = TierPartSerializer(many=True, help_text="WhatsApp: the send split at the tier boundaries it crosses")


class AutoTopUpSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    threshold = _money()
    amount = _money()


class WalletSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Wallet.Kind.choices)
    currency = serializers.CharField()
    balance = _money()
    state = serializers.ChoiceField(choices=["ok", "low", "suspended", "paused"])
    auto_top_up = AutoTopUpSerializer(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="Position of the event in the batch")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)
