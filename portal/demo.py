"""Demo data, created idempotently: running it twice leaves the same rows."""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from unittest import mock
from zoneinfo import ZoneInfo

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from finance.groups import FINANCE_GROUP, finance_group_ensure
from phone_numbers.selectors import anniversary, local_today
from phone_numbers.services import number_fees_bill
from usage.models import Channel, NumberFeeCharge, PhoneNumber
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

# The demo tells the story of the last DEMO_DAYS days. History entries are
# (kind, amount, days ago); a top-up has a Stripe top-up record (and a receipt) behind it.
# A days-ago of AT_PURCHASE is the purchase day of the wallet's first number. Acme stays
# healthy; Globex's WhatsApp ends low (< US$20), and its texts use up the SMS wallet before
# the number's first renewal, so two renewals go unpaid and the number is due for release.
DEMO_DAYS = 90
AT_PURCHASE = "at purchase"
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
            "whatsapp": [(Kind.TOP_UP, "500.00", 88), (Kind.TOP_UP, "100.00", 41), (Kind.TOP_UP, "50.00", 9)],
            "sms": [
                (Kind.TOP_UP, "200.00", 86),
                (Kind.NUMBER_FEE, "-1.150000", AT_PURCHASE),
                (Kind.TOP_UP, "20.00", 23),
            ],
        },
        "usage_events": 360,
        "sms_usage_ends_before_first_renewal": False,
        "sms_usage_drains_wallet": False,
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
            "whatsapp": [(Kind.TOP_UP, "20.00", 80)],
            "sms": [(Kind.TOP_UP, "20.00", AT_PURCHASE), (Kind.NUMBER_FEE, "-2.000000", AT_PURCHASE)],
        },
        "usage_events": 240,
        "sms_usage_ends_before_first_renewal": True,
        "sms_usage_drains_wallet": True,
    },
]
DEMO_CARD = ("visa", "4242")


@contextmanager
def _demo_clock(at: datetime) -> Iterator[None]:
    """Run the real services as if it were `at`. They stamp every row (ledger postings, usage
    records, top-ups, fee charges) with the current time and, on purpose, take no backdating
    argument: the ledger's dates cannot be set by a caller. Only the demo, replaying 90 days of
    history, moves the clock, so every posting is dated with the usage or top-up it records."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


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


def demo_usage_events(
    *,
    slug: str,
    channels: list[tuple[Channel, list[tuple[str, str]]]],
    count: int,
    windows: dict[int, tuple],
    first: int = 0,
) -> list[dict]:
    """A deterministic mix of SMS, MMS and WhatsApp, each channel's messages spread over its
    window (channel id -> (start, end)), oldest first; fixed message ids make a second seed
    report them as duplicates and charge nothing."""
    rng = random.Random(f"demo-usage:{slug}:{first}")  # noqa: S311 (demo data, not security)
    events = []
    for index in range(first, first + count):
        channel, numbers = rng.choice(channels)
        start, end = windows[channel.id]
        occurred = start + (end - start) * rng.random()
        event = {
            "id": f"demo-{slug}-{index:04d}",
            "channel": numbers[0][0] if numbers else channel.id,
            "direction": "outbound" if rng.random() < 0.8 else "inbound",
            "status": "delivered" if rng.random() < 0.95 else "failed",
            "occurred_at": occurred.replace(microsecond=0).isoformat(),
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
    return sorted(events, key=lambda event: event["occurred_at"])


def _usage_windows(*, workspace: Workspace, spec: dict, now: datetime) -> dict[int, tuple]:
    """Each channel's messages fall between its number's purchase (or DEMO_DAYS ago) and now."""
    windows = {}
    for channel in Channel.objects.filter(workspace=workspace).prefetch_related("numbers"):
        start, end = now - timedelta(days=DEMO_DAYS), now - timedelta(hours=1)
        bought = min((n.purchased_at for n in channel.numbers.all()), default=None)
        if bought is not None:
            start = max(start, bought + timedelta(hours=2))
            if spec["sms_usage_ends_before_first_renewal"]:
                local = bought.astimezone(ZoneInfo(workspace.timezone))
                renewal = datetime.combine(anniversary(local.date(), 1), time(0), tzinfo=local.tzinfo)
                end = renewal - timedelta(days=2)
        windows[channel.id] = (start, end)
    return windows


def _top_up_record(*, wallet: Wallet, posting: WalletTransaction, key: str) -> None:
    """The Stripe top-up behind a seeded credit, paid by the demo card: it has a receipt."""
    from payments.models import TopUp

    TopUp.objects.get_or_create(
        payment_intent_id=f"pi_demo_{key}",
        defaults={
            "wallet": wallet,
            "kind": TopUp.Kind.AUTO if posting.kind == Kind.AUTO_TOP_UP else TopUp.Kind.MANUAL,
            "status": TopUp.Status.SUCCEEDED,
            "amount": posting.amount,
            "amount_paid": posting.amount,
            "posting": posting,
            "card_brand": DEMO_CARD[0],
            "card_last4": DEMO_CARD[1],
        },
    )


def _demo_history_and_usage(*, workspace: Workspace, spec: dict, wallets: dict[str, Wallet], now: datetime) -> None:
    """Replay the workspace's last DEMO_DAYS days in order: top-ups and first fees on their
    days, each day's messages charged at the end of that day, the monthly fee run every day."""
    channels = [
        (channel, list(channel.numbers.values_list("number", "country")))
        for channel in Channel.objects.filter(workspace=workspace).order_by("id")
    ]
    windows = _usage_windows(workspace=workspace, spec=spec, now=now)
    events = demo_usage_events(slug=spec["slug"], channels=channels, count=spec["usage_events"], windows=windows)
    usage_totals = {kind: ZERO for kind in wallets}
    for event in usage_batch_price(workspace=workspace, events=events, now=now):
        usage_totals[event.ref.channel.wallet_kind] += event.quote.total
    if spec["sms_usage_drains_wallet"]:
        # More texts until they use up every SMS credit: the wallet ends at or just below zero.
        credit = sum((Decimal(a) for _, a, _ in spec["history"]["sms"]), ZERO)
        sms_channels = [(c, numbers) for c, numbers in channels if c.kind == Channel.Kind.SMS]
        while usage_totals[Wallet.Kind.SMS] < credit:
            extra = demo_usage_events(
                slug=spec["slug"], channels=sms_channels, count=50, windows=windows, first=len(events)
            )
            for event in usage_batch_price(workspace=workspace, events=extra, now=now):
                if usage_totals[Wallet.Kind.SMS] < credit:
                    usage_totals[Wallet.Kind.SMS] += event.quote.total
                    events.append(next(e for e in extra if e["id"] == event.message_id))
        events.sort(key=lambda event: event["occurred_at"])
    first_purchase = {
        wallet_kind: min(
            (n.purchased_at for c, _ in channels if c.wallet_kind == wallet_kind for n in c.numbers.all()),
            default=now,
        )
        for wallet_kind in wallets
    }

    timeline: list[tuple[datetime, int, object]] = []  # (when, order within the moment, action)
    for wallet_kind, entries in spec["history"].items():
        wallet: Wallet = wallets[wallet_kind]
        for index, (kind, amount, days_ago) in enumerate(entries):
            at = first_purchase[wallet_kind] if days_ago == AT_PURCHASE else now - timedelta(days=days_ago)
            key = f"{spec['slug']}:{wallet_kind}:{index}"
            timeline.append((at, index, ("post", wallet, kind, Decimal(amount), key)))
    zone = ZoneInfo(workspace.timezone)
    by_day = groupby(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]).astimezone(zone).date())
    for _day_of_events, day_events in by_day:
        batch = list(day_events)
        last = max(datetime.fromisoformat(e["occurred_at"]) for e in batch)
        timeline.append((min(last + timedelta(minutes=5), now), 0, ("usage", batch)))
    first_day = (now - timedelta(days=DEMO_DAYS)).astimezone(zone).date()
    for offset in range(DEMO_DAYS + 1):
        # The fee run at 00:10 local time, as beat's hourly run would find the day's renewals.
        day = first_day + timedelta(days=offset)
        at = datetime.combine(day, time(0, 10), tzinfo=zone)
        if at <= now:
            timeline.append((at, 0, ("fees", None)))

    for at, _, action in sorted(timeline, key=lambda item: (item[0], item[1])):
        with _demo_clock(at):
            if action[0] == "post":
                _, wallet, kind, amount, key = action
                posting = ledger_post(
                    wallet_id=wallet.id,
                    kind=kind,
                    amount=amount,
                    idempotency_key=f"demo-seed:{key}",
                    reference="demo seed",
                    memo="Demo history",
                ).transaction
                if kind in (Kind.TOP_UP, Kind.AUTO_TOP_UP):
                    _top_up_record(wallet=wallet, posting=posting, key=key.replace(":", "_"))
            elif action[0] == "usage":
                usage_ingest(workspace=workspace, events=action[1], now=at)
            else:
                number_fees_bill(now=at)


def demo_walkthrough() -> list[str]:
    """The number-fee story in the demo's own dates (they follow the day of the first seed)."""
    number = PhoneNumber.objects.select_related("channel__workspace").filter(number="+85251234567").first()
    if number is None:
        return []
    zone = ZoneInfo(number.channel.workspace.timezone)
    bought = number.purchased_at.astimezone(zone).date()
    unpaid = list(
        NumberFeeCharge.objects.filter(phone_number=number, status=NumberFeeCharge.Status.UNPAID)
        .order_by("period_start")
        .values_list("period_start", flat=True)
    )
    lines = [
        f"Number-fee walkthrough ({number.channel.workspace.name}, {number.number}, fee "
        f"US${number.monthly_fee:.2f}/month, dates in {zone.key}):",
        f"  bought {_day(bought)}; its SMS wallet ran dry before the first renewal;",
    ]
    if unpaid:
        lines.append(f"  renewals {' and '.join(_day(d) for d in unpaid)} unpaid (nothing charged);")
    if number.release_scheduled_for:
        release = number.release_scheduled_for
        lines += [
            f"  release scheduled for {_day(release)}, the day before the next billing date.",
            f"  Preview the release:  python manage.py bill_numbers --date {release.isoformat()} --dry-run",
            "  Or top up Globex's SMS wallet before then: the unpaid fees are paid and the release cancelled.",
        ]
    return lines


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y} ({day.isoformat()})"


@transaction.atomic
def demo_seed() -> list[tuple[str, str]]:
    logins: list[tuple[str, str]] = []
    now = timezone.now()
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

        today = local_today(workspace=workspace, now=now)
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

        _demo_history_and_usage(workspace=workspace, spec=spec, wallets=wallets, now=now)

    # Today's run (the replay's last ran at 00:10); periods already billed are skipped.
    number_fees_bill(now=now)

    finance = _user("finance", email="finance@example.com", is_staff=True)
    # The migration creates the group with its permissions; a flushed database (the browser
    # tests) has lost them, so the demo sets them again, exactly as the migration would.
    finance_group_ensure(apps=django_apps)
    finance.groups.add(Group.objects.get(name=FINANCE_GROUP))
    logins.append(("finance", "Finance staff: Django admin at /admin/"))
    _user("superadmin", email="root@example.com", is_staff=True, is_superuser=True)
    logins.append(("superadmin", "Superuser: everything in /admin/"))
    return logins
