"""The usage batch (and the authorization fast path) check fields with usage.events' plain
functions, for speed; the schema and the other endpoints use the serializers. Here the
values are derived from each serializer field itself (its choices, lengths, bounds and
pattern, and the JSON types around them), and for every one the fast cleaner and the
serializer field must agree: accepted by both, or refused by both. A rule changed in one
place and not the other fails here."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from usage import events as ev
from usage.serializers import (
    REPORTED_PRICE_PATTERN,
    AuthorizeRequestSerializer,
    ChannelRefField,
    EstimateRequestSerializer,
    OccurredAtField,
    ReportedPriceField,
    UsageEventSerializer,
)

# JSON values of every type, which any field meets.
JSON_VALUES = [None, True, False, 0, 1, -1, 1.5, 2**70, "", " ", "x", "2", [], {}, ["sms"], {"a": 1}]
TEXT_EDGES = ["a\x00", "a\n", "\ta", "a\u2028", "a\x85", "\xa0", "ß", "é", "a b", "  a  ", "\u200b"]


@dataclass(frozen=True)
class FromNow:
    """A time relative to the moment the test runs: its id stays the same in every xdist
    worker (which compare the tests they collect), its value is made when the test runs."""

    offset: timedelta

    def __repr__(self) -> str:
        return f"now{'+' if self.offset >= timedelta(0) else '-'}{abs(self.offset)}"

    def value(self) -> str:
        return (timezone.now() + self.offset).isoformat()


def _field_values(field: serializers.Field) -> list[object]:
    """The values this field's own declaration says are at its edges."""
    values = [*JSON_VALUES, *TEXT_EDGES]
    if isinstance(field, serializers.ChoiceField):
        for choice in field.choices:
            values += [choice, choice.upper(), f"{choice} ", choice[:-1]]
    if isinstance(field, serializers.CharField):
        for length in (field.min_length, field.max_length):
            if length is not None:
                values += ["a" * (length - 1), "a" * length, "a" * (length + 1)]
    if isinstance(field, serializers.RegexField):
        values += ["US", "us", "Us", "USA", "U", "U1", "ÜS"]
    if isinstance(field, serializers.IntegerField):
        for bound in (field.min_value, field.max_value):
            if bound is not None:
                values += [bound - 1, bound, bound + 1, str(bound), float(bound)]
    if isinstance(field, ChannelRefField):
        values += [ev.MAX_ID, ev.MAX_ID + 1, "1", str(ev.MAX_ID + 1), "+14155550100", "+04155550100", "+1415", "+"]
    if isinstance(field, ReportedPriceField):
        top = str(ev.MAX_REPORTED_PRICE)
        values += ["0", "0.0250", "0.000001", "0.0000001", top, f"{top}.000001", "-1", "1e3", "NaN", 0.025, 1]
    if isinstance(field, OccurredAtField):
        values += [
            FromNow(-timedelta(days=1)),
            FromNow(ev.FUTURE_TOLERANCE - timedelta(seconds=5)),
            FromNow(ev.FUTURE_TOLERANCE + timedelta(seconds=5)),
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:00",
            "2026-11-20",
            "20261120T100000Z",
            "2026-11-20 10:00:00+00:00",
            "yesterday",
        ]
    return values


def _accepts(check, value: object) -> bool:
    try:
        check(value)
    except (ev.FieldError, serializers.ValidationError):
        return False
    return True


# Each field of the batch's event, with the cleaner the batch runs on it. `None` stands for
# "not sent" in optional fields (the batch reads an absent key and null alike), so it is left
# out where the serializer field is optional.
USAGE_CLEANERS = {
    "id": ev.clean_message_id,
    "channel": ev.clean_channel_ref,
    "type": ev.clean_type,
    "direction": ev.clean_direction,
    "status": ev.clean_status,
    "country": ev.clean_country,
    "segments": ev.clean_segments,
    "occurred_at": lambda value: ev.clean_occurred_at(value, now=timezone.now()),
    # A category is a choice for WhatsApp and absent ("" or null) otherwise: either is accepted.
    "category": lambda value: (
        ev.clean_category(value, message_type="sms")
        if value in (None, "")
        else ev.clean_category(value, message_type="whatsapp")
    ),
    "pricing_type": lambda value: ev.clean_whatsapp_pricing(
        {"category": "utility", "pricing_type": value}, message_type="whatsapp"
    ),
    "reported_price": lambda value: ev.clean_reported_price(value, message_type="whatsapp"),
}
AUTHORIZE_CLEANERS = {"channel": ev.clean_channel_ref, "direction": ev.clean_direction, "type": ev.clean_type}
ESTIMATE_CLEANERS = {**USAGE_CLEANERS, "recipients": ev.clean_recipients}


def _cases(serializer_class, cleaners):
    fields = serializer_class().fields
    for name, cleaner in cleaners.items():
        if name not in fields:
            continue
        field = fields[name]
        for value in _field_values(field):
            if value is None and not field.required:
                continue
            yield pytest.param(field, cleaner, value, id=f"{serializer_class.__name__}.{name}={value!r:.30}")


@pytest.mark.parametrize(
    ("field", "cleaner", "value"),
    [
        *_cases(UsageEventSerializer, USAGE_CLEANERS),
        *_cases(AuthorizeRequestSerializer, AUTHORIZE_CLEANERS),
        *_cases(EstimateRequestSerializer, ESTIMATE_CLEANERS),
    ],
)
def test_the_fast_cleaner_and_the_serializer_field_accept_the_same_values(field, cleaner, value):
    if isinstance(value, FromNow):
        value = value.value()
    assert _accepts(cleaner, value) == _accepts(field.run_validation, value)


def test_every_field_of_the_event_is_held_to_its_cleaner_or_said_why_not():
    # `body` is counted in segments, which depend on its encoding: the serializer only bounds
    # its length (tests/test_api_usage.py checks the segment rule through the API). `pricing`
    # is Meta's object, whose `billable` must agree with its `type` and whose category must
    # agree with the event's: rules across fields that tests/test_usage_ingest_whatsapp.py
    # checks through the API.
    assert set(UsageEventSerializer().fields) == {*USAGE_CLEANERS, "body", "pricing"}


def test_a_body_within_the_schema_length_is_counted_and_one_past_it_is_refused_by_both():
    field = UsageEventSerializer().fields["body"]
    longest = "a" * field.max_length

    assert ev.clean_body(longest) == ev.MAX_SEGMENTS and _accepts(field.run_validation, longest)
    assert not _accepts(ev.clean_body, longest + "a") and not _accepts(field.run_validation, longest + "a")


@pytest.mark.parametrize(
    "text", ["0", "7", "0.0250", "999.999999", "1000", "1000.000000", "1000.000001", "1001", "0.0000001", "-1", "1e3"]
)
def test_the_schemas_reported_price_pattern_accepts_what_the_cleaner_accepts(text):
    in_schema = re.fullmatch(REPORTED_PRICE_PATTERN, text) is not None
    assert in_schema == _accepts(lambda value: ev.clean_reported_price(value, message_type="whatsapp"), text)
