"""Demo data, created idempotently: running it twice leaves the same rows."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from usage.models import Channel, PhoneNumber
from wallets.models import Membership, Wallet, WalletTransaction, Workspace
from wallets.services import ledger_post, wallets_ensure

DEMO_PASSWORD = "demo-pass-2026"

Kind = WalletTransaction.Kind

# (workspace slug, name, tz, channels, wallet history); the history leaves
# Acme healthy, Globex's WhatsApp low (< US$20) and Globex's SMS wallet empty.
WORKSPACES = [
    {
        "slug": "acme",
        "name": "Acme Retail",
        "timezone": "America/New_York",
        "channels": [
            ("whatsapp_cloud", "Acme WhatsApp (Cloud API)", []),
            ("sms", "Acme SMS US", [("+14155550100", "US", "1.150000", datetime(2026, 3, 15, 15, 0))]),
            ("sms", "Acme SMS UK", [("+447700900100", "GB", "1.500000", datetime(2026, 6, 30, 9, 0))]),
        ],
        "history": {
            "whatsapp": [(Kind.TOP_UP, "500.00"), (Kind.MESSAGE_CHARGE, "-187.354200"), (Kind.TOP_UP, "100.00")],
            "sms": [(Kind.TOP_UP, "200.00"), (Kind.NUMBER_FEE, "-1.150000"), (Kind.MESSAGE_CHARGE, "-23.418700")],
        },
    },
    {
        "slug": "globex",
        "name": "Globex Travel",
        "timezone": "Asia/Hong_Kong",
        "channels": [
            ("whatsapp_twilio", "Globex WhatsApp (Twilio)", []),
            ("sms", "Globex SMS HK", [("+85251234567", "HK", "2.000000", datetime(2026, 7, 15, 2, 0))]),
        ],
        "history": {
            "whatsapp": [(Kind.TOP_UP, "50.00"), (Kind.MESSAGE_CHARGE, "-37.512300")],
            "sms": [(Kind.TOP_UP, "20.00"), (Kind.NUMBER_FEE, "-2.000000"), (Kind.MESSAGE_CHARGE, "-18.000000")],
        },
    },
]


def _user(username: str, *, email: str, is_staff: bool = False, is_superuser: bool = False):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    user.email, user.is_staff, user.is_superuser = email, is_staff, is_superuser
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


@transaction.atomic
def demo_seed() -> list[tuple[str, str]]:
    logins: list[tuple[str, str]] = []
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

        tz = ZoneInfo(spec["timezone"])
        for kind, display_name, numbers in spec["channels"]:
            channel, _ = Channel.objects.get_or_create(workspace=workspace, kind=kind, display_name=display_name)
            for number, country, fee, purchased in numbers:
                PhoneNumber.objects.get_or_create(
                    number=number,
                    defaults={
                        "channel": channel,
                        "country": country,
                        "monthly_fee": Decimal(fee),
                        "purchased_at": purchased.replace(tzinfo=tz),
                    },
                )

        for wallet_kind, entries in spec["history"].items():
            wallet: Wallet = wallets[wallet_kind]
            for index, (kind, amount) in enumerate(entries):
                ledger_post(
                    wallet_id=wallet.id,
                    kind=kind,
                    amount=Decimal(amount),
                    idempotency_key=f"demo-seed:{slug}:{wallet_kind}:{index}",
                    reference="demo seed",
                    memo="Demo history",
                )

    finance = _user("finance", email="finance@example.com", is_staff=True)
    finance_group, _ = Group.objects.get_or_create(name="Finance")
    finance.groups.add(finance_group)
    logins.append(("finance", "Finance staff: Django admin at /admin/"))
    _user("superadmin", email="root@example.com", is_staff=True, is_superuser=True)
    logins.append(("superadmin", "Superuser: everything in /admin/"))
    return logins
