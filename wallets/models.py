from django.conf import settings
from django.db import models
from django.db.models import F, Q

from wallets.defaults import TOP_UP_DATABASE_BOUNDS
from wallets.money import CURRENCY, ZERO, money_field_kwargs


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone, e.g. Asia/Hong_Kong")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin (billing permission)"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace"),
            models.CheckConstraint(condition=Q(role__in=["admin", "staff"]), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def has_billing_permission(self) -> bool:
        return self.role == self.Role.ADMIN


class Wallet(models.Model):
    class Kind(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        SMS = "sms", "SMS"

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="wallets")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    # A cache of sum(ledger amounts), written only by wallets.services.ledger_post
    # in the same transaction as the ledger row; verify_ledger proves it.
    balance = models.DecimalField(default=ZERO, editable=False, **money_field_kwargs())
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace__name", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind"], name="wallet_unique_workspace_kind"),
            models.CheckConstraint(condition=Q(currency=CURRENCY), name="wallet_currency_usd"),
            models.CheckConstraint(condition=Q(kind__in=["whatsapp", "sms"]), name="wallet_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} {self.get_kind_display()} wallet"


class WalletTransaction(models.Model):
    """One ledger row. Append-only: the database refuses UPDATE and DELETE."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", "Top-up"
        AUTO_TOP_UP = "auto_top_up", "Auto top-up"
        MESSAGE_CHARGE = "message_charge", "Message charge"
        CARRIER_FEE = "carrier_fee", "Carrier fee"
        NUMBER_FEE = "number_fee", "Number fee"
        ADJUSTMENT = "adjustment", "Adjustment"
        REFUND = "refund", "Refund"
        # A chargeback: debited when the dispute opens, credited back if it is won.
        DISPUTE = "dispute", "Dispute"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    amount = models.DecimalField(**money_field_kwargs())
    balance_before = models.DecimalField(**money_field_kwargs())
    balance_after = models.DecimalField(**money_field_kwargs())
    reference = models.CharField(max_length=255, blank=True, help_text="What caused it, e.g. topup:42")
    memo = models.TextField(blank=True, help_text="Human reason (required for adjustments)")
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["wallet_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "idempotency_key"], name="ledger_unique_idempotency_key"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_nonzero"),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "top_up",
                        "auto_top_up",
                        "message_charge",
                        "carrier_fee",
                        "number_fee",
                        "adjustment",
                        "refund",
                        "dispute",
                    ]
                ),
                name="ledger_kind_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="ledger_wallet_latest"),
            # The pages' and the export's ranges of one wallet's ledger (number fees, runway):
            # without it PostgreSQL ANDs the wallet index with created_at over every wallet.
            models.Index(fields=["wallet", "created_at"], name="ledger_wallet_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} on {self.wallet}"


class AutoTopUpRule(models.Model):
    """When the balance drops below `threshold`, charge the saved card `amount`."""

    wallet = models.OneToOneField(Wallet, on_delete=models.CASCADE, related_name="auto_top_up")
    enabled = models.BooleanField(default=False)
    threshold = models.DecimalField(**money_field_kwargs())
    amount = models.DecimalField(**money_field_kwargs())
    # The most auto top-up may charge this wallet in a calendar month; empty means no cap.
    monthly_cap = models.DecimalField(null=True, blank=True, **money_field_kwargs())
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="autotopup_threshold_nonnegative"),
            models.CheckConstraint(
                condition=Q(amount__gte=TOP_UP_DATABASE_BOUNDS[0]) & Q(amount__lte=TOP_UP_DATABASE_BOUNDS[1]),
                name="autotopup_amount_within_limits",
            ),
            models.CheckConstraint(
                condition=Q(monthly_cap__isnull=True) | Q(monthly_cap__gte=F("amount")),
                name="autotopup_monthly_cap_covers_one_top_up",
            ),
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"Auto top-up {state}: {self.amount} below {self.threshold}"
