"""Demo data, created idempotently: running it twice leaves the same rows."""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from phone_numbers.selectors import anniversary, local_today
from phone_numbers.services import number_fees_bill
from usage.models import Channel, PhoneNumber
from usage.services import usage_batch_price, usage_ingest
from wallets.models import Membership, Wallet, WalletTransaction, Workspace
from wallets.money import ZERO
from wallets.services import ledger_post, wallets_ensure

DEMO_PASSWORD = "demo-pass-2026"

Kind = WalletTransaction.Kind

# Purchase dates, as (months, days) before the first seed, so that whenever the demo is
# first run the number-fee story is visible: Acme's numbers have paid their monthly
# fees, and Globex's (empty SMS wallet) has two unpaid periods with its release
# scheduled about three weeks ahead, counting down on the SMS wallet page.
BOUGHT_3_MONTHS_AGO_BILLS_IN_10_DAYS = (3, -10)
BOUGHT_1_MONTH_AGO = (1, 3)
BOUGHT_2_MONTHS_AGO_TWO_FEES_UNPAID = (2, 5)

# (workspace slug, name, tz, channels, wallet history, usage). Usage is ingested
# through the real ingest after the history; a history amount of None is the
# top-up that leaves the wallet at its `end_balance` once the usage is charged:
# Acme stays healthy, Globex's WhatsApp ends low (< US$20) and its SMS wallet at 0.
WORKSPACES = [
    {
        "slug": "acme",
        "name": "Acme Retail",
        "timezone": "America/New_York",
        "channels": [
            ("whatsapp_cloud", "Acme WhatsApp (Cloud API)", []),
            ("sms", "Acme SMS US", [("+14155550100", "US", "1.150000", BOUGHT_3_MONTHS_AGO_BILLS_IN_10_DAYS)]),
            ("sms", "Acme SMS UK", [("+447700900100", "GB", "1.500000", BOUGHT_1_MONTH_AGO)]),
        ],
        "history": {
            "whatsapp": [(Kind.TOP_UP, "500.00"), (Kind.TOP_UP, "100.00")],
            "sms": [(Kind.TOP_UP, "200.00"), (Kind.NUMBER_FEE, "-1.150000")],
        },
        "end_balance": {},
        "usage_events": 360,
    },
    {
        "slug": "globex",
        "name": "Globex Travel",
        "timezone": "Asia/Hong_Kong",
        "channels": [
            ("whatsapp_twilio", "Globex WhatsApp (Twilio)", []),
            ("sms", "Globex SMS HK", [("+85251234567", "HK", "2.000000", BOUGHT_2_MONTHS_AGO_TWO_FEES_UNPAID)]),
        ],
        "history": {
            "whatsapp": [(Kind.TOP_UP, None)],
            "sms": [(Kind.TOP_UP, None), (Kind.NUMBER_FEE, "-2.000000")],
        },
        "end_balance": {"whatsapp": "12.480000", "sms": "0"},
        "usage_events": 240,
    },
]


def _user(username: str, *, email: str, is_staff: bool = False, is_superuser: bool = False):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    user.email, user.is_staff, user.is_superuser = email, is_staff, is_superuser
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


DEMO_BODIES = [
    "Your order has shipped and will arrive tomorrow.",
    "Your verification code is 482913. It expires in 10 minutes.",
    "Flash sale: 20% off everything this weekend only! Reply STOP to opt out.",
    "Reminder: your appointment is at 3pm today. Reply C to confirm.",
    "Thanks for your booking! Your itinerary: " + "Hong Kong - Tokyo - Osaka. " * 6,
    "感謝您的預訂 我們會盡快與您聯絡",
    "See you soon 👋 Your table for 4 is ready.",
]


def demo_usage_events(*, slug: str, channels: list[tuple[Channel, list[tuple[str, str]]]], count: int) -> list[dict]:
    """A deterministic mix of SMS, MMS and WhatsApp over the last ~60 days; fixed
    message ids make a second seed report them as duplicates and charge nothing."""
    rng = random.Random(f"demo-usage:{slug}")  # noqa: S311 (demo data, not security)
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    events = []
    for index in range(count):
        channel, numbers = rng.choice(channels)
        event = {
            "id": f"demo-{slug}-{index:04d}",
            "channel": numbers[0][0] if numbers else channel.id,
            "direction": "outbound" if rng.random() < 0.8 else "inbound",
            "status": "delivered" if rng.random() < 0.95 else "failed",
            "occurred_at": (anchor - timedelta(minutes=rng.randrange(60 * 24 * 60))).isoformat(),
        }
        if channel.kind == Channel.Kind.SMS:
            country = numbers[0][1]
            event["type"] = "sms" if rng.random() < 0.85 else "mms"
            event["country"] = country if rng.random() < 0.8 else rng.choice(["US", "GB", "HK", "CA", "FR"])
            event["body"] = rng.choice(DEMO_BODIES)
        else:
            event["type"] = "whatsapp"
            event["category"] = rng.choices(["marketing", "utility", "authentication", "service"], [4, 3, 2, 1])[0]
            event["country"] = rng.choice(["US", "GB", "HK", "BR"])
        events.append(event)
    return events


def _demo_history_and_usage(*, workspace: Workspace, spec: dict, wallets: dict[str, Wallet]) -> None:
    channels = [
        (channel, list(channel.numbers.values_list("number", "country")))
        for channel in Channel.objects.filter(workspace=workspace).order_by("id")
    ]
    events = demo_usage_events(slug=spec["slug"], channels=channels, count=spec["usage_events"])
    usage_totals = {kind: ZERO for kind in wallets}
    for event in usage_batch_price(workspace=workspace, events=events, now=timezone.now()):
        usage_totals[event.ref.channel.wallet_kind] += event.quote.total

    for wallet_kind, entries in spec["history"].items():
        wallet: Wallet = wallets[wallet_kind]
        known = sum((Decimal(amount) for _, amount in entries if amount is not None), ZERO)
        for index, (kind, amount) in enumerate(entries):
            if amount is None:
                amount = Decimal(spec["end_balance"][wallet_kind]) - known + usage_totals[wallet_kind]
            ledger_post(
                wallet_id=wallet.id,
                kind=kind,
                amount=Decimal(amount),
                idempotency_key=f"demo-seed:{spec['slug']}:{wallet_kind}:{index}",
                reference="demo seed",
                memo="Demo history",
            )
    for start in range(0, len(events), 100):
        usage_ingest(workspace=workspace, events=events[start : start + 100])


@transaction.atomic
def demo_seed() -> list[tuple[str, str]]:
    logins: list[tuple[str, str]] = []
    # Illustrative prices (labelled so in the price list's name), in force from 2026-01-01.
    call_command("loaddata", "default_price_list", verbosity=0)
    for spec in WORKSPACES:
        slug = spec["slug"]
        workspace, _ = Workspace.objects.update_or_create(
            slug=slug, defaults={"name": spec["name"], "timezone": spec["timezone"]}
        )
        wallets = wallets_ensure(workspace=workspace)
        admin = _user(f"{slug}-admin", email=f"admin@{slug}.example")
        staff = _user(f"{slug}-staff", email=f"staff@{slug}.example")
        Membership.objects.update_or_create(user=admin, workspace=workspace, defaults={"role": "admin"})
        Membership.objects.update_or_create(user=staff, workspace=workspace, defaults={"role": "staff"})
        logins += [
            (admin.username, f"{spec['name']}: admin with billing permission"),
            (staff.username, f"{spec['name']}: staff, no billing permission"),
        ]

        today = local_today(workspace=workspace, now=timezone.now())
        for kind, display_name, numbers in spec["channels"]:
            channel, _ = Channel.objects.get_or_create(workspace=workspace, kind=kind, display_name=display_name)
            for number, country, fee, (months_ago, days_ago) in numbers:
                bought_on = anniversary(today, -months_ago) - timedelta(days=days_ago)
                PhoneNumber.objects.get_or_create(  # the purchase date is fixed by the first seed
                    number=number,
                    defaults={
                        "channel": channel,
                        "country": country,
                        "monthly_fee": Decimal(fee),
                        "purchased_at": datetime.combine(bought_on, time(10), tzinfo=ZoneInfo(spec["timezone"])),
                    },
                )

        _demo_history_and_usage(workspace=workspace, spec=spec, wallets=wallets)

    # The monthly fees since purchase, billed by the real billing run (the first fee,
    # at purchase, is in the history above). Periods already billed are skipped.
    number_fees_bill()

    finance = _user("finance", email="finance@example.com", is_staff=True)
    finance_group, _ = Group.objects.get_or_create(name="Finance")
    finance.groups.add(finance_group)
    logins.append(("finance", "Finance staff: Django admin at /admin/"))
    _user("superadmin", email="root@example.com", is_staff=True, is_superuser=True)
    logins.append(("superadmin", "Superuser: everything in /admin/"))
    return logins
