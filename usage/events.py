"""Field rules for what the platform sends: usage events, authorization and estimate requests.

Plain functions instead of DRF serializers because a usage batch holds up to 1,000
events and must be checked fast (the authorization fast path uses them too); the API's
serializers (usage.serializers) validate the other requests and publish the schema, and
tests/test_api_rules_match.py holds each cleaner equal to its serializer field. Each
cleaner returns the clean value or raises FieldError.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from usage.models import Channel, UsageRecord
from usage.segments import MAX_SEGMENTS, segments_count
from wallets.money import QUANTUM, ZERO

MessageType = UsageRecord.MessageType

MAX_MESSAGE_ID_LENGTH = 128
# Clocks differ a little between the platform and us; more than this is a bug upstream.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A country as sent (either case); stored upper-case.
COUNTRY_FORM_RE = re.compile(r"^[A-Za-z]{2}$")
# A message id: not only whitespace, and no control character (C0, DEL, C1, line or paragraph
# separators), which would break a CSV line or a log record. The schema publishes this pattern.
MESSAGE_ID_RE = re.compile(r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$", re.S)
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")


class FieldError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ApiError:
    """One entry of an error answer: which event (batches only), which field, what is wrong."""

    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


def _choice(field: str, choices: type) -> Callable[[object], str]:
    allowed = frozenset(value for value in choices.values if value)  # once: .values is rebuilt on each access
    listed = ", ".join(value for value in choices.values if value)

    def clean(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise FieldError(field, f"Must be one of: {listed}.")
        return value

    return clean


clean_type = _choice("type", MessageType)
clean_direction = _choice("direction", UsageRecord.Direction)
clean_status = _choice("status", UsageRecord.Status)


def clean_category(value: object, *, message_type: str, field: str = "category") -> str:
    """WhatsApp messages are priced by category; SMS and MMS have none."""
    if message_type == MessageType.WHATSAPP:
        return _choice(field, UsageRecord.Category)(value)
    if value not in (None, ""):
        raise FieldError(field, "Only WhatsApp messages have a category; leave it out for SMS and MMS.")
    return ""


PricingType = UsageRecord.PricingType
# Meta's names for its pricing models in the `pricing` object of a status webhook.
META_PRICING_MODELS = {"CBP": UsageRecord.PricingModel.CONVERSATION, "PMP": UsageRecord.PricingModel.PER_MESSAGE}
PLAIN_DECIMAL_RE = re.compile(r"[0-9]+(\.[0-9]+)?")
MAX_REPORTED_PRICE = Decimal("1000")  # per message; more is a unit mix-up upstream, not a price
_pricing_type_choice = _choice("pricing_type", PricingType)
_meta_type_choice = _choice("pricing.type", PricingType)


class WhatsAppPricing(NamedTuple):
    """How Meta says it priced a WhatsApp message: category, type and (if it said) model."""

    category: str
    pricing_type: str
    declared_model: str


def clean_whatsapp_pricing(raw: Mapping, *, message_type: str) -> WhatsAppPricing:
    """`pricing` as Meta's status webhook sends it wins; without it `category` and an
    optional `pricing_type` (default regular). SMS and MMS carry neither.

    `billable` is being retired by Meta in favour of `type`: it is accepted and must
    agree with the type (false means a free type), never guessed from."""
    pricing = raw.get("pricing")
    if message_type != MessageType.WHATSAPP:
        for name in ("pricing", "pricing_type"):
            if raw.get(name) is not None:
                raise FieldError(name, "Only WhatsApp messages are priced by Meta; leave it out for SMS and MMS.")
        return WhatsAppPricing(clean_category(raw.get("category"), message_type=message_type), "", "")
    if pricing is None:
        category = clean_category(raw.get("category"), message_type=message_type)
        given = raw.get("pricing_type")
        return WhatsAppPricing(category, PricingType.REGULAR if given is None else _pricing_type_choice(given), "")
    # Fields Meta adds to its pricing object later are ignored, as an event's own unknown fields
    # are: refusing them would stop billing on the day Meta ships one.
    pricing = require_object(pricing, field="pricing")
    model = pricing.get("pricing_model")
    if model is not None and model not in META_PRICING_MODELS:
        raise FieldError("pricing.pricing_model", "Must be PMP (per message) or CBP (per conversation).")
    category = clean_category(pricing.get("category"), message_type=message_type, field="pricing.category")
    if raw.get("category") not in (None, category):
        raise FieldError("category", f"Disagrees with pricing.category ({category!r}); send one of them.")
    billable = pricing.get("billable")
    if billable is not None and not isinstance(billable, bool):
        raise FieldError("pricing.billable", "Must be true or false.")
    if pricing.get("type") is None:
        if billable is False:
            raise FieldError(
                "pricing.type",
                "A message Meta does not bill needs its free type: free_customer_service or free_entry_point.",
            )
        pricing_type = PricingType.REGULAR
    else:
        pricing_type = _meta_type_choice(pricing["type"])
    if billable is not None and billable != (pricing_type == PricingType.REGULAR):
        raise FieldError("pricing.billable", f"Disagrees with pricing.type ({pricing_type}).")
    return WhatsAppPricing(category, pricing_type, META_PRICING_MODELS[model] if model else "")


def clean_reported_price(value: object, *, message_type: str) -> Decimal | None:
    """The price per message the platform says Meta charged (a decimal string, USD)."""
    if value is None:
        return None
    if message_type != MessageType.WHATSAPP:
        raise FieldError("reported_price", "Only WhatsApp messages have a reported price.")
    if not isinstance(value, str) or not PLAIN_DECIMAL_RE.fullmatch(value):
        # Digits and one optional point, as every money field: no exponent, sign or NaN.
        raise FieldError("reported_price", 'Must be a decimal string in USD, e.g. "0.0250".')
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise FieldError("reported_price", 'Must be a decimal string in USD, e.g. "0.0250".') from None
    if not price.is_finite() or not ZERO <= price <= MAX_REPORTED_PRICE:
        raise FieldError("reported_price", f"Must be between 0 and {MAX_REPORTED_PRICE}.")
    if price != price.quantize(QUANTUM):
        raise FieldError("reported_price", "Must have at most 6 decimal places.")
    return price.quantize(QUANTUM)


def clean_message_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("id", "Must be the platform's message id, a non-empty string.")
    if not MESSAGE_ID_RE.match(value):
        raise FieldError("id", "Must not contain control characters.")
    if len(value) > MAX_MESSAGE_ID_LENGTH:
        raise FieldError("id", f"Must be at most {MAX_MESSAGE_ID_LENGTH} characters.")
    return value


MAX_ID = 2**63 - 1  # ids are 64-bit; a larger one would make the database raise, not answer


def clean_channel_ref(value: object) -> int | str:
    """A channel id (integer) or a number in E.164 form."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
            return int(value)
        if E164_RE.match(value):
            return value
    raise FieldError("channel", "Must be a channel id or a phone number in E.164 form, e.g. +14155550123.")


def clean_country(value: object) -> str:
    if not isinstance(value, str) or not COUNTRY_FORM_RE.match(value):
        raise FieldError("country", "Must be an ISO 3166-1 alpha-2 country code, e.g. US.")
    return value.upper()


def clean_segments(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("segments", "Must be a whole number.")
    if not 1 <= value <= MAX_SEGMENTS:
        raise FieldError("segments", f"Must be between 1 and {MAX_SEGMENTS}.")
    return value


def clean_body(value: object) -> int:
    """The segments of an SMS body; bodies longer than MAX_SEGMENTS parts are refused."""
    if not isinstance(value, str):
        raise FieldError("body", "Must be a string.")
    count = segments_count(value)
    if count.segments > MAX_SEGMENTS:
        raise FieldError(
            "body", f"Is {count.segments} segments long ({count.encoding}); at most {MAX_SEGMENTS} are accepted."
        )
    return count.segments


def message_segments(raw: Mapping, *, message_type: str) -> int:
    """`segments` wins over `body` (the body is then not even read); an SMS needs one of
    them. MMS and WhatsApp are priced per message, so they count as one."""
    if raw.get("segments") is not None:
        segments = clean_segments(raw["segments"])
    elif message_type == MessageType.SMS and raw.get("body") is not None:
        segments = clean_body(raw["body"])
    elif message_type == MessageType.SMS:
        raise FieldError("segments", "An SMS needs `segments` or its `body`.")
    else:
        segments = 1
    return segments if message_type == MessageType.SMS else 1


MAX_RECIPIENTS = 10_000_000


def clean_recipients(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RECIPIENTS:
        raise FieldError("recipients", f"Must be a whole number from 1 to {MAX_RECIPIENTS:,}.")
    return value


def clean_occurred_at(value: object, *, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise FieldError("occurred_at", "Must be an ISO 8601 date-time string with a UTC offset.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError("occurred_at", "Must be an ISO 8601 date-time, e.g. 2026-11-23T09:30:00Z.") from None
    if moment.tzinfo is None:
        raise FieldError("occurred_at", "Must include a UTC offset (Z or +hh:mm).")
    if moment > now + FUTURE_TOLERANCE:
        raise FieldError("occurred_at", f"Is more than {FUTURE_TOLERANCE.seconds // 60} minutes in the future.")
    return moment


def type_fits_kind(*, message_type: str, channel_kind: str) -> bool:
    """SMS and MMS go through SMS channels, WhatsApp messages through WhatsApp ones."""
    return (channel_kind == Channel.Kind.SMS) == (message_type in (MessageType.SMS, MessageType.MMS))


def type_fits_channel(*, message_type: str, channel: Channel) -> None:
    if not type_fits_kind(message_type=message_type, channel_kind=channel.kind):
        expected = "sms or mms" if channel.kind == Channel.Kind.SMS else "whatsapp"
        raise FieldError(
            "type", f"Channel {channel.pk} is a {channel.get_kind_display()} channel: type must be {expected}."
        )


def require_object(raw: object, *, field: str) -> Mapping:
    if not isinstance(raw, Mapping):
        raise FieldError(field, "Must be a JSON object.")
    return raw
