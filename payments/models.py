"""Top-ups, the workspace's Stripe customer (with its saved card) and received Stripe events."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import money_field_kwargs

TOP_UP_MIN = 20
TOP_UP_MAX = 2000


class StripeCustomer(models.Model):
    """One Stripe customer per workspace; the saved card is its default payment method."""

    workspace = models.OneToOneField(Workspace, on_delete=models.PROTECT, related_name="stripe_customer")
    stripe_id = models.CharField(max_length=255, unique=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stripe_id} ({self.workspace})"

    @property
    def has_saved_card(self) -> bool:
        return bool(self.payment_method_id)


class TopUp(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        AUTO = "auto", "Auto"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        # The payer came back through Checkout's cancel link; the session was expired at Stripe.
        CANCELLED = "cancelled", "Cancelled"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="top_ups")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # What we asked Stripe to charge; the credit is what Stripe says it charged.
    amount = models.DecimalField(**money_field_kwargs())
    amount_paid = models.DecimalField(null=True, blank=True, **money_field_kwargs())
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    # The card Stripe charged, for the receipt (filled when the receipt is first produced).
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    posting = models.OneToOneField(
        WalletTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="top_up"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=TOP_UP_MIN) & Q(amount__lte=TOP_UP_MAX), name="topup_amount_within_limits"
            ),
            models.CheckConstraint(condition=Q(kind__in=["manual", "auto"]), name="topup_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed", "expired", "cancelled"]),
                name="topup_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="succeeded", posting__isnull=False, amount_paid__isnull=False)
                | (~Q(status="succeeded") & Q(posting__isnull=True)),
                name="topup_succeeded_iff_posted",
            ),
            # At most one auto top-up in flight per wallet, whatever number of workers race.
            models.UniqueConstraint(
                fields=["wallet"], condition=Q(kind="auto", status="pending"), name="topup_one_pending_auto_per_wallet"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} top-up {self.amount} ({self.status}) on {self.wallet}"

    @property
    def reference(self) -> str:
        return f"topup:{self.pk}"


class StripeEvent(models.Model):
    """Every verified webhook event, stored before processing; unique by Stripe's id."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=128)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Last processing error; cleared when a retry succeeds")
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
