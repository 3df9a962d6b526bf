"""Finance's own records: the audit log, ledger checks and refunds of top-ups."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.models import TopUp
from wallets.models import WalletTransaction
from wallets.money import money_field_kwargs


class AuditEntry(models.Model):
    """Who did what to which object, when, with the values before and after. Append-only."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=100, help_text="app_label.model")
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        permissions = [
            ("post_adjustment", "Can post a ledger adjustment"),
            ("issue_refund", "Can refund a top-up through Stripe"),
            ("view_finance_dashboard", "Can view the finance dashboard"),
            ("reconcile_payments", "Can reconcile top-ups with Stripe"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class LedgerCheck(models.Model):
    """The result of one verify_ledger run."""

    ran_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ok = models.BooleanField()
    wallets_checked = models.PositiveIntegerField()
    rows_checked = models.PositiveBigIntegerField()
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Ledger check {self.ran_at:%Y-%m-%d %H:%M} {'OK' if self.ok else 'FAILED'}"


class Refund(models.Model):
    """A refund of (part of) a top-up. Asked of Stripe first; the negative ledger entry is
    posted only once Stripe confirms it, and only once (the ledger key is the refund's id)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**money_field_kwargs())
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    posting = models.OneToOneField(
        WalletTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="refund"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]), name="refund_status_valid"
            ),
            models.CheckConstraint(
                condition=(Q(status="succeeded") & Q(posting__isnull=False))
                | (~Q(status="succeeded") & Q(posting__isnull=True)),
                name="refund_succeeded_iff_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of top-up {self.topup_id} ({self.status})"
