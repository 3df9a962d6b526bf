from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import ZERO, money_field_kwargs

E164_VALIDATOR = RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter a phone number in E.164 form, e.g. +14155550123.")


class Channel(models.Model):
    class Kind(models.TextChoices):
        WHATSAPP_CLOUD = "whatsapp_cloud", "WhatsApp Cloud API"
        WHATSAPP_TWILIO = "whatsapp_twilio", "WhatsApp (Twilio)"
        WHATSAPP_360DIALOG = "whatsapp_360dialog", "WhatsApp (360dialog)"
        SMS = "sms", "SMS"

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="channels")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    display_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace_id", "kind", "display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["whatsapp_cloud", "whatsapp_twilio", "whatsapp_360dialog", "sms"]),
                name="channel_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_kind_display()})"

    @property
    def wallet_kind(self) -> str:
        """Which of the workspace's two wallets pays for this channel."""
        return Wallet.Kind.SMS if self.kind == self.Kind.SMS else Wallet.Kind.WHATSAPP


class PhoneNumber(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASE_SCHEDULED = "release_scheduled", "Release scheduled"
        RELEASED = "released", "Released"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="numbers")
    number = models.CharField(max_length=16, validators=[E164_VALIDATOR])
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    monthly_fee = models.DecimalField(validators=[MinValueValidator(ZERO)], **money_field_kwargs())
    purchased_at = models.DateTimeField()
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.ACTIVE)
    release_scheduled_for = models.DateField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            # A number can be bought again once released, but is held by one channel at a time.
            models.UniqueConstraint(
                fields=["number"], condition=~Q(status="released"), name="phonenumber_unique_while_held"
            ),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="phonenumber_fee_nonnegative"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "release_scheduled", "released"]), name="phonenumber_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class UsageRecord(models.Model):
    """One reported message, priced and charged. Written by the ingest service only."""

    class MessageType(models.TextChoices):
        SMS = "sms", "SMS"
        MMS = "mms", "MMS"
        WHATSAPP = "whatsapp", "WhatsApp message"

    class Category(models.TextChoices):
        """Meta's categories. The conversation model (until 30 June 2025) knew the first
        four; per-message pricing added international authentication (an eligible business
        authenticating users in another country) and marketing_lite (Marketing Messages API).
        Which ones a price-list version prices is its data: a category it names no price
        for is refused."""

        NONE = "", "—"
        MARKETING = "marketing", "Marketing"
        UTILITY = "utility", "Utility"
        AUTHENTICATION = "authentication", "Authentication"
        AUTHENTICATION_INTERNATIONAL = "authentication_international", "Authentication (international)"
        SERVICE = "service", "Service"
        MARKETING_LITE = "marketing_lite", "Marketing lite"

    class PricingModel(models.TextChoices):
        """How Meta priced a WhatsApp message: by 24-hour conversation (CBP) or per
        delivered message (PMP, from 1 July 2025). Blank for SMS and MMS."""

        NONE = "", "—"
        CONVERSATION = "conversation", "Per conversation (CBP)"
        PER_MESSAGE = "per_message", "Per message (PMP)"

    class PricingType(models.TextChoices):
        """Meta's `pricing.type`: a regular (billable) message, or one inside a free window."""

        NONE = "", "—"
        REGULAR = "regular", "Regular"
        FREE_CUSTOMER_SERVICE = "free_customer_service", "Free: customer service window"
        FREE_ENTRY_POINT = "free_entry_point", "Free: entry point window"

    class FreeReason(models.TextChoices):
        """Why a WhatsApp message cost nothing; blank when it was charged (or is SMS)."""

        NONE = "", "—"
        FREE_CUSTOMER_SERVICE = "free_customer_service", "Customer service window"
        FREE_ENTRY_POINT = "free_entry_point", "Free entry point window"
        FAILED = "failed", "Not delivered"

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # No index of their own on workspace, wallet and channel: the unique (workspace,
    # message_id) and the (wallet, occurred_at) and (channel, occurred_at) indexes lead with
    # them and serve every lookup by them. Each index costs every ingested row an insert.
    # The six references are enforced by statement-level triggers (migration usage/0005),
    # not by per-row foreign keys: checking 6 keys for each of a batch's 1,000 records was
    # 60% of an ingest batch. The triggers check and lock each distinct parent once per
    # statement, and refuse deleting a parent that records refer to, as the keys did.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="usage_records", db_index=False, db_constraint=False
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="usage_records", db_index=False, db_constraint=False
    )
    phone_number = models.ForeignKey(
        PhoneNumber,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="usage_records",
        db_constraint=False,
    )
    message_id = models.CharField(max_length=128, help_text="The platform's message id")
    message_type = models.CharField(max_length=16, choices=MessageType.choices)
    category = models.CharField(max_length=32, choices=Category.choices, blank=True, default="")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    country = models.CharField(max_length=2)
    segments = models.PositiveIntegerField(default=1)
    # What priced the record, kept so that it is never repriced: a later version of the
    # price list changes later messages only. No foreign key (price lists are never
    # deleted once they priced usage, and a key check per row costs ingest, see above).
    price_list = models.ForeignKey(
        "PriceList",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Database defaults too: the bulk writers that name their columns (generate_usage's
    # COPY, the archive's restore) predate these columns and leave them out.
    pricing_model = models.CharField(max_length=16, choices=PricingModel.choices, blank=True, default="", db_default="")
    pricing_type = models.CharField(max_length=24, choices=PricingType.choices, blank=True, default="", db_default="")
    tier = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The volume tier the rate came from (1 = first); WhatsApp only"
    )
    unit_price = models.DecimalField(help_text="The price list's unit price", **money_field_kwargs())
    reported_price = models.DecimalField(
        null=True,
        blank=True,
        help_text="The price the platform reported Meta charged, if it did",
        **money_field_kwargs(),
    )
    free_reason = models.CharField(max_length=24, choices=FreeReason.choices, blank=True, default="", db_default="")
    cost = models.DecimalField(**money_field_kwargs())
    carrier_fee = models.DecimalField(default=ZERO, **money_field_kwargs())
    total = models.DecimalField(**money_field_kwargs())
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    posting = models.ForeignKey(
        WalletTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="usage_records",
        db_constraint=False,
    )
    carrier_posting = models.ForeignKey(
        WalletTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="carrier_usage_records",
        db_constraint=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "message_id"], name="usage_unique_message_per_workspace"),
            models.CheckConstraint(condition=Q(cost__gte=0) & Q(carrier_fee__gte=0), name="usage_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["wallet", "occurred_at"], name="usage_wallet_time"),
            models.Index(fields=["channel", "occurred_at"], name="usage_channel_time"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.message_id}"


class DailyUsageRollup(models.Model):
    """Usage summed per wallet, channel, local day and kind of message.

    Kept in step with UsageRecord inside the ingest transaction, so that summaries
    over a year read a few hundred rollup rows instead of millions of records.
    `day` is the date in the workspace's time zone.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    message_type = models.CharField(max_length=16, choices=UsageRecord.MessageType.choices)
    category = models.CharField(max_length=32, choices=UsageRecord.Category.choices, blank=True, default="")
    direction = models.CharField(max_length=16, choices=UsageRecord.Direction.choices)
    status = models.CharField(max_length=16, choices=UsageRecord.Status.choices)
    free_reason = models.CharField(
        max_length=24, choices=UsageRecord.FreeReason.choices, blank=True, default="", db_default=""
    )
    messages = models.PositiveIntegerField(default=0)
    segments = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(default=ZERO, **money_field_kwargs())
    carrier_fee = models.DecimalField(default=ZERO, **money_field_kwargs())
    total = models.DecimalField(default=ZERO, **money_field_kwargs())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "channel", "day", "message_type", "category", "direction", "status", "free_reason"],
                name="rollup_unique_bucket_free_reason",
            )
        ]
        indexes = [models.Index(fields=["wallet", "day"], name="rollup_wallet_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.message_type} {self.direction} {self.status}: {self.messages}"


class NumberFeeCharge(models.Model):
    """One billing period of one number: charged, unpaid, paid late or written off."""

    class Status(models.TextChoices):
        CHARGED = "charged", "Charged"
        UNPAID = "unpaid", "Unpaid"
        PAID_LATE = "paid_late", "Paid late"
        WRITTEN_OFF = "written_off", "Written off"

    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="fee_charges")
    period_start = models.DateField(help_text="The billing date (anniversary) in the workspace's time zone")
    period_end = models.DateField(help_text="The day before the next billing date")
    amount = models.DecimalField(**money_field_kwargs())
    status = models.CharField(max_length=16, choices=Status.choices)
    posting = models.ForeignKey(
        WalletTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="number_fee_charges"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["phone_number_id", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["phone_number", "period_start"], name="numberfee_unique_period"),
            models.CheckConstraint(
                condition=Q(status__in=["charged", "unpaid", "paid_late", "written_off"]),
                name="numberfee_status_valid",
            ),
            # Paid periods carry their ledger posting; unpaid ones never do.
            models.CheckConstraint(
                condition=(Q(status__in=["charged", "paid_late"]) & Q(posting__isnull=False))
                | (Q(status__in=["unpaid", "written_off"]) & Q(posting__isnull=True)),
                name="numberfee_posting_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} {self.period_start} {self.status}"


class PriceList(models.Model):
    """A version of the prices, in force from `effective_from` until the next version.

    A usage event is priced by the version in force at its `occurred_at`.
    """

    name = models.CharField(max_length=200)
    effective_from = models.DateTimeField(unique=True)
    bill_failed_messages = models.BooleanField(
        default=True,
        help_text="Carriers charge for a failed SMS segment that was submitted; when on, failed SMS and MMS "
        "are billed like delivered ones.",
    )
    whatsapp_pricing_model = models.CharField(
        max_length=16,
        choices=UsageRecord.PricingModel.choices[1:],
        default=UsageRecord.PricingModel.PER_MESSAGE,
        help_text="How this version prices WhatsApp, from its effective date. Events that carry Meta's "
        "pricing object with the other model are refused.",
    )
    whatsapp_bill_failed = models.BooleanField(
        default=False,
        help_text="Meta charges delivered messages only; when on, failed WhatsApp messages are billed too.",
    )
    whatsapp_charge_reported_price = models.BooleanField(
        default=False,
        help_text="When the platform reports the price Meta charged (e.g. under a Max Price bid), charge that "
        "instead of this list's price. Both are kept on the record either way.",
    )
    whatsapp_authorize_covers_price = models.BooleanField(
        default=False,
        help_text="Refuse a WhatsApp send the balance cannot cover (its price plus usage reported but not yet "
        "charged), as Meta's own prepaid billing does. Off: sending pauses only below zero.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from:%Y-%m-%d})"


# What makes a price unique within its list (rate-card import matches rows on these too).
PRICE_KEY_FIELDS = [
    "price_list", "channel_family", "message_type", "category", "direction", "country", "pricing_type", "tier_start",
]  # fmt: skip


class Price(models.Model):
    """Unit price per message (SMS: per segment) for one kind of message to one country.

    `country` blank is the default for countries the list does not name (for WhatsApp,
    Meta's "rest of world" market). `category` is set for WhatsApp only.

    WhatsApp rate cards are data, so Meta's next change is a new version, not code:
    - `tier_start`: the rate applies from the month's Nth paid message of that category
      in that market (the workspace's calendar month in its time zone). Several rows
      differing only in `tier_start` are volume tiers; one row (tier_start 1) is a flat rate.
    - `pricing_type`: rows are normally `regular`. A message in a free window
      (free_customer_service, free_entry_point) is free unless the version names a price
      for its category and that type, which is how a version says "service messages in
      the window are charged from this date".
    """

    class ChannelFamily(models.TextChoices):
        SMS = "sms", "SMS/MMS"
        WHATSAPP = "whatsapp", "WhatsApp"

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    channel_family = models.CharField(max_length=16, choices=ChannelFamily.choices)
    message_type = models.CharField(max_length=16, choices=UsageRecord.MessageType.choices)
    category = models.CharField(max_length=32, choices=UsageRecord.Category.choices, blank=True, default="")
    direction = models.CharField(max_length=16, choices=UsageRecord.Direction.choices)
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2; blank = default")
    pricing_type = models.CharField(
        max_length=24, choices=UsageRecord.PricingType.choices[1:], default=UsageRecord.PricingType.REGULAR
    )
    tier_start = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="First message of the month this rate applies to"
    )
    unit_price = models.DecimalField(validators=[MinValueValidator(ZERO)], **money_field_kwargs())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=PRICE_KEY_FIELDS,
                name="price_unique_per_list_type_tier",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="price_nonnegative"),
            models.CheckConstraint(condition=Q(tier_start__gte=1), name="price_tier_start_positive"),
        ]

    def __str__(self) -> str:
        tier = f" from #{self.tier_start}" if self.tier_start > 1 else ""
        kind = f" {self.pricing_type}" if self.pricing_type != UsageRecord.PricingType.REGULAR else ""
        return (
            f"{self.message_type} {self.category}{kind} {self.direction} {self.country or '*'}{tier}: {self.unit_price}"
        )


class WhatsAppVolume(models.Model):
    """Paid WhatsApp messages of one category to one market in one workspace's month: the
    running count that picks the volume tier. Added to by ingest with an atomic upsert
    under the workspace's wallet locks, so concurrent batches never count a message twice
    or give two messages the same place. `market` is the country the price list prices on
    its own, blank for its default (rest of world)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="First day of the month, in the workspace's time zone")
    category = models.CharField(max_length=32, choices=UsageRecord.Category.choices)
    market = models.CharField(max_length=2, blank=True)
    messages = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "month", "category", "market"], name="whatsappvolume_unique_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.category} {self.market or '*'}: {self.messages}"


class CarrierFee(models.Model):
    """Carrier surcharge per SMS segment / MMS message, by country and direction."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="carrier_fees")
    message_type = models.CharField(max_length=16, choices=UsageRecord.MessageType.choices)
    direction = models.CharField(max_length=16, choices=UsageRecord.Direction.choices)
    country = models.CharField(max_length=2, blank=True, default="", help_text="blank = default")
    amount = models.DecimalField(validators=[MinValueValidator(ZERO)], **money_field_kwargs())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "message_type", "direction", "country"], name="carrierfee_unique_per_list"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="carrierfee_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"carrier {self.message_type} {self.direction} {self.country or '*'}: {self.amount}"


class NumberPrice(models.Model):
    """Monthly fee of a phone number in a country."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="number_prices")
    country = models.CharField(max_length=2, blank=True, default="", help_text="blank = default")
    monthly_fee = models.DecimalField(validators=[MinValueValidator(ZERO)], **money_field_kwargs())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["price_list", "country"], name="numberprice_unique_per_list"),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="numberprice_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"number {self.country or '*'}: {self.monthly_fee}/month"


class ApiKey(models.Model):
    """A workspace's key for the platform API. Only a SHA-256 of the secret is stored.

    The secret is 256 bits from `secrets`, so a fast hash suffices: a slow password
    hash protects guessable human passwords, and nobody can guess or brute-force a
    256-bit random value from its digest. A fast hash also keeps each API call cheap.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it; not secret")
    key_hash = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the key, hex")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workspace_id", "-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(condition=Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="apikey_hash_is_sha256_hex")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
