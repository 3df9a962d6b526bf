"""Balance alert rules, the events the platform and people learn about, who hears
of them by email, and the signed webhooks that carry them."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from wallets.models import Wallet, Workspace
from wallets.money import money_field_kwargs


class EventType(models.TextChoices):
    """The one list of event names: email subjects, webhook `type` and the API use these."""

    WALLET_LOW = "wallet.low", "Balance fell below a threshold"
    WALLET_RECOVERED = "wallet.recovered", "Balance back above a threshold"
    WALLET_SUSPENDED = "wallet.suspended", "SMS wallet empty: SMS and MMS suspended"
    WALLET_PAUSED = "wallet.paused", "WhatsApp balance below zero: sending paused"
    WALLET_RESUMED = "wallet.resumed", "Messaging resumed"
    TOP_UP_SUCCEEDED = "top_up.succeeded", "Top-up credited"
    AUTO_TOP_UP_FAILED = "auto_top_up.failed", "Auto top-up failed"
    AUTO_TOP_UP_PAUSED = "auto_top_up.paused", "Auto top-up paused for the day"
    NUMBER_FEE_UNPAID = "number.fee_unpaid", "Number fee unpaid"
    NUMBER_RELEASE_SCHEDULED = "number.release_scheduled", "Number release scheduled"
    NUMBER_RELEASE_CANCELLED = "number.release_cancelled", "Number release cancelled"
    NUMBER_RELEASED = "number.released", "Number released"


# Sent by "send test event" only; never stored as an Event, never in the pull API.
TEST_EVENT_TYPE = "webhook.test"


class AlertRule(models.Model):
    """Tell people when this wallet's balance falls below `threshold`, and when it is back."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="alert_rules")
    threshold = models.DecimalField(**money_field_kwargs())
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["wallet_id", "-threshold"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "threshold"], name="alertrule_unique_wallet_threshold"),
            models.CheckConstraint(condition=Q(threshold__gt=0), name="alertrule_threshold_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.wallet} below {self.threshold}"


class Event(models.Model):
    """Something a person or the platform should know about, recorded once.

    `dedup_key` names what caused it (the crossing's ledger row, the failed top-up, the
    number's billing period), so a receiver run twice, or two racing, record one event.
    Ids of one workspace's events commit in id order (services.events_record takes a
    per-workspace lock), which is what lets GET /api/v1/events?after= page without gaps.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField()
    dedup_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once the email went out, so a retried email task sends nothing twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["workspace", "id"], name="event_workspace_id")]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=EventType.values), name="event_type_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} ({self.workspace_id})"


class ExtraRecipient(models.Model):
    """An address that is not a member (a finance mailbox) and receives every alert email."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alert_recipients")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["workspace", "email"], name="extrarecipient_unique")]

    def __str__(self) -> str:
        return self.email


class NotificationPreference(models.Model):
    """One admin's choice for one event type in one workspace; no row means "email me"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace", "event_type"], name="notificationpref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.event_type}: {'on' if self.email else 'off'}"


class WebhookEndpoint(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Empty means every event type.
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices), default=list, blank=True)
    # Kept readable because every delivery is signed with it; shown to the admin once.
    secret = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    # When the current run of failures began; cleared by any successful delivery.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event to one endpoint, attempted until it succeeds or is given up.

    `body` is the exact bytes sent each time (signed afresh per attempt), so every retry
    carries the same event the receiver may already have seen: at least once, same id.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    event_ref = models.CharField(max_length=64, help_text="The Billing-Event-Id header")
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # A resend is a new delivery of the same event: the log keeps both.
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]), name="delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", next_attempt_at__isnull=False) | ~Q(status="pending"),
                name="delivery_pending_has_next_attempt",
            ),
            # An event reaches an endpoint by one delivery; only a resend adds another.
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=Q(event__isnull=False, resend_of__isnull=True),
                name="delivery_unique_endpoint_event",
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_pending_due"),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id}: {self.status}"
