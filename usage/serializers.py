"""Shapes of the platform API. Requests are checked by usage.events (fast, batch-wide);
these serializers describe them for the schema and format the answers (money as strings)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from usage.events import E164_RE, MAX_MESSAGE_ID_LENGTH, MAX_RECIPIENTS
from usage.models import UsageRecord
from usage.segments import MAX_SEGMENTS
from usage.services import MAX_BATCH
from wallets.models import Wallet
from wallets.money import money_field_kwargs


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(coerce_to_string=True, **money_field_kwargs())


CHANNEL_HELP = "The channel id, or its phone number in E.164 form."


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": E164_RE.pattern}]})
class ChannelRefField(serializers.CharField):
    """An integer id or an E.164 string (checked by usage.events.clean_channel_ref)."""


CATEGORY_CHOICES = [c for c in UsageRecord.Category.values if c]
PRICING_TYPE_CHOICES = [t for t in UsageRecord.PricingType.values if t]


class MetaPricingSerializer(serializers.Serializer):
    """The `pricing` object of Meta's WhatsApp status webhook, as it arrives."""

    pricing_model = serializers.ChoiceField(
        choices=["PMP", "CBP"], required=False, help_text="PMP per message (from 1 July 2025), CBP per conversation"
    )
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES)
    type = serializers.ChoiceField(choices=PRICING_TYPE_CHOICES, required=False, help_text="Default regular")
    billable = serializers.BooleanField(required=False, help_text="Being retired by Meta; must agree with type")


class UsageEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=MAX_MESSAGE_ID_LENGTH, help_text="The platform's message id")
    channel = ChannelRefField(help_text=CHANNEL_HELP)
    type = serializers.ChoiceField(choices=UsageRecord.MessageType.choices)
    category = serializers.ChoiceField(
        choices=CATEGORY_CHOICES,
        required=False,
        allow_null=True,
        help_text="WhatsApp only, without `pricing`: Meta's category.",
    )
    pricing = MetaPricingSerializer(
        required=False, allow_null=True, help_text="WhatsApp only: Meta's pricing object; wins over category"
    )
    pricing_type = serializers.ChoiceField(
        choices=PRICING_TYPE_CHOICES, required=False, allow_null=True, help_text="WhatsApp only, without `pricing`"
    )
    reported_price = serializers.DecimalField(
        required=False,
        allow_null=True,
        coerce_to_string=True,
        help_text="WhatsApp only: the price per message Meta charged, if the platform knows it (USD string)",
        **money_field_kwargs(),
    )
    direction = serializers.ChoiceField(choices=UsageRecord.Direction.choices)
    status = serializers.ChoiceField(choices=UsageRecord.Status.choices)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="Destination country, ISO 3166-1 alpha-2")
    segments = serializers.IntegerField(
        min_value=1, max_value=MAX_SEGMENTS, required=False, allow_null=True, help_text="Wins over body."
    )
    body = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset; not in the future")


class UsageBatchSerializer(serializers.Serializer):
    events = UsageEventSerializer(many=True, min_length=1, max_length=MAX_BATCH)


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
    direction = serializers.ChoiceField(choices=UsageRecord.Direction.choices)
    type = serializers.ChoiceField(choices=UsageRecord.MessageType.choices)
    category = serializers.ChoiceField(
        choices=CATEGORY_CHOICES,
        required=False,
        allow_null=True,
        help_text="WhatsApp: needed when the price list requires sends to be covered by the balance",
    )
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", required=False, allow_null=True, help_text="WhatsApp: as category; the recipient's country"
    )
    pricing_type = serializers.ChoiceField(choices=PRICING_TYPE_CHOICES, required=False, allow_null=True)


class AuthorizationSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=["sms_wallet_empty", "whatsapp_balance_negative", "whatsapp_balance_below_price", "number_released"],
        allow_null=True,
    )
    balance = _money()


class EstimateRequestSerializer(serializers.Serializer):
    channel = ChannelRefField(help_text=CHANNEL_HELP)
    type = serializers.ChoiceField(choices=UsageRecord.MessageType.choices)
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES, required=False, allow_null=True)
    pricing_type = serializers.ChoiceField(choices=PRICING_TYPE_CHOICES, required=False, allow_null=True)
    direction = serializers.ChoiceField(choices=UsageRecord.Direction.choices, required=False, default="outbound")
    country = serializers.RegexField(r"^[A-Za-z]{2}$")
    segments = serializers.IntegerField(min_value=1, max_value=MAX_SEGMENTS, required=False, allow_null=True)
    body = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    recipients = serializers.IntegerField(min_value=1, max_value=MAX_RECIPIENTS)


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
