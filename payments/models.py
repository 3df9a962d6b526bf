"""Top-ups, the workspace's Stripe customer (with its saved card) and received Stripe events."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from wallets.defaults import TOP_UP_DATABASE_BOUNDS
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import money_field_kwargs


class StripeCustomer(models.Model):
    """One Stripe customer per workspace; the saved card is its default payment method."""

    workspace = models.OneToOneField(Workspace, on_delete=models.PROTECT, related_name="stripe_customer")
    stripe_id = models.CharField(max_length=255, unique=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    # Set when Stripe says the saved card must not be charged again (a hard decline, a card
    # or customer gone at Stripe, a dispute): auto top-up waits until a new card is saved.
    card_paused_reason = models.TextField(blank=True)
    card_paused_at = models.DateTimeField(null=True, blank=True)
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
    # Stripe's decline or error code (`insufficient_funds`, `resource_missing`, `rate_limit`...).
    failure_code = models.CharField(max_length=64, blank=True)
    # The saved card an auto top-up charged: the retry policy counts declines per card.
    payment_method_id = models.CharField(max_length=255, blank=True, db_index=True)
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
                condition=Q(amount__gte=TOP_UP_DATABASE_BOUNDS[0]) & Q(amount__lte=TOP_UP_DATABASE_BOUNDS[1]),
                name="topup_amount_within_limits",
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


class ChargeReversal(models.Model):
    """Money Stripe took back from a top-up's charge without the portal asking: a refund
    made in the Stripe Dashboard, or a dispute (chargeback). Unique by Stripe's own id, so
    repeated and out-of-order events post once. The portal's own refunds are finance.Refund."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund made at Stripe"
        DISPUTE = "dispute", "Dispute"

    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="reversals")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    stripe_id = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(**money_field_kwargs())
    # Stripe's status of the refund or dispute, as last reported.
    stripe_status = models.CharField(max_length=64)
    reason = models.CharField(max_length=255, blank=True)
    debit = models.OneToOneField(
        WalletTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reversal_debit"
    )
    # A dispute won, or a refund that failed after it had been posted: the money came back.
    credit_back = models.OneToOneField(
        WalletTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reversal_credit"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="reversal_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["refund", "dispute"]), name="reversal_kind_valid"),
            models.CheckConstraint(
                condition=Q(credit_back__isnull=True) | Q(debit__isnull=False), name="reversal_credit_after_debit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.stripe_id} of {self.amount} ({self.stripe_status})"


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
