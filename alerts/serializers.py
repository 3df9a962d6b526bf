"""Shapes of the events and webhook-endpoint API. The Event shape is also every webhook's body."""

from rest_framework import serializers

from alerts.models import EventType
from alerts.selectors import iso_utc

MONEY = 'A USD amount as a string with 6 decimal places, e.g. "9.500000".'


class EventDataSerializer(serializers.Serializer):
    """Which fields appear depends on the type; money is always a string."""

    wallet = serializers.ChoiceField(choices=["whatsapp", "sms"], help_text="The wallet's kind")
    balance = serializers.CharField(help_text=f"The balance after what happened. {MONEY}")
    threshold = serializers.CharField(required=False, help_text=f"wallet.low / wallet.recovered: the line. {MONEY}")
    rule_id = serializers.IntegerField(required=False, help_text="wallet.low / wallet.recovered: the alert rule")
    ledger_transaction_id = serializers.IntegerField(
        required=False, help_text="wallet.*, top_up.succeeded: the ledger row that caused it"
    )
    amount = serializers.CharField(required=False, help_text=f"top_up.succeeded, auto_top_up.*: {MONEY}")
    top_up = serializers.ChoiceField(
        choices=["top_up", "auto_top_up"], required=False, help_text="top_up.succeeded: manual or automatic"
    )
    reason = serializers.CharField(required=False, help_text="auto_top_up.failed: what the card issuer said")
    card_paused = serializers.BooleanField(required=False, help_text="auto_top_up.failed: the card is not retried")
    until = serializers.CharField(
        required=False, allow_null=True, help_text="auto_top_up.paused: when it may run again"
    )
    number = serializers.CharField(required=False, help_text="number.*: the phone number, E.164")
    monthly_fee = serializers.CharField(required=False, help_text=f"number.*: {MONEY}")
    release_on = serializers.DateField(required=False, help_text="number.*: the (scheduled) release date")
    written_off = serializers.IntegerField(required=False, help_text="number.released: unpaid fees written off")
    unpaid_periods = serializers.IntegerField(
        required=False, help_text="number.release_scheduled: billing periods unpaid in a row"
    )


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Increasing; page with ?after=<the last id you saw>")
    type = serializers.ChoiceField(choices=EventType.choices)
    created = serializers.CharField(help_text="ISO 8601, UTC, e.g. 2026-12-01T12:00:00.123456Z")
    workspace = serializers.SlugField(help_text="The workspace's slug")
    data = EventDataSerializer()


class EventPageSerializer(serializers.Serializer):
    data = EventSerializer(many=True)
    has_more = serializers.BooleanField(help_text="More events follow: ask again with after=next_after")
    next_after = serializers.IntegerField(help_text="The id to pass as `after` next time")


class EventsQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, default=0, help_text="Return events with an id above this")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=100)


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(max_length=2000, help_text="https:// and a public address (checked again at delivery)")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        default=list,
        help_text="The types to deliver; empty means all",
    )
    enabled = serializers.BooleanField(read_only=True)
    disabled_reason = serializers.CharField(read_only=True)
    created = serializers.SerializerMethodField()

    def get_created(self, endpoint) -> str:
        return iso_utc(endpoint.created_at)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret. Shown in this answer only.")
