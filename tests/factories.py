"""All factory-boy factories, in one place."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import factory
import factory.random
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from usage.models import Channel, NumberPrice, PhoneNumber, Price, PriceList, UsageRecord
from usage.services import api_key_create, usage_ingest
from wallets.models import Membership, Wallet, Workspace
from wallets.services import ledger_post, wallets_ensure

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    """A workspace with its two wallets (as every real workspace has)."""

    class Meta:
        model = Workspace
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"ws-{n}")
    timezone = "UTC"

    @factory.post_generation
    def wallets(obj, create, extracted, **kwargs):
        if create:
            wallets_ensure(workspace=obj)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.ADMIN


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    workspace = factory.SubFactory(WorkspaceFactory)
    kind = Channel.Kind.SMS
    display_name = factory.Sequence(lambda n: f"Channel {n}")


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    channel = factory.SubFactory(ChannelFactory)
    # Its own exchange (312), so a generated number never collides with the +1 415 555 numbers tests name.
    number = factory.Sequence(lambda n: f"+1312555{n:04d}")
    country = "US"
    monthly_fee = Decimal("1.150000")
    purchased_at = factory.LazyFunction(lambda: datetime(2026, 7, 15, 12, 0, tzinfo=UTC))


def wallet_of(workspace: Workspace, kind: str) -> Wallet:
    return Wallet.objects.get(workspace=workspace, kind=kind)


def fund(wallet: Wallet, amount: str, *, key: str | None = None, kind: str = "adjustment") -> Decimal:
    """Post an amount to a wallet through the one posting service; returns the new balance."""
    posting = ledger_post(
        wallet_id=wallet.id,
        kind=kind,
        amount=Decimal(amount),
        idempotency_key=key or f"test-fund:{wallet.id}:{amount}:{factory.random.randgen.random()}",
        memo="test funding",
    )
    return posting.balance_after


class UsageRecordFactory(factory.django.DjangoModelFactory):
    """A priced usage record. It writes no ledger row and no rollup: tests that need
    consistent rollups call usage.rollups.rollups_rebuild afterwards."""

    class Meta:
        model = UsageRecord

    channel = factory.SubFactory(ChannelFactory)
    workspace = factory.SelfAttribute("channel.workspace")
    wallet = factory.LazyAttribute(lambda o: Wallet.objects.get(workspace=o.workspace, kind=o.channel.wallet_kind))
    message_id = factory.Sequence(lambda n: f"msg-{n}")
    message_type = factory.LazyAttribute(
        lambda o: (
            UsageRecord.MessageType.SMS if o.channel.kind == Channel.Kind.SMS else UsageRecord.MessageType.WHATSAPP
        )
    )
    category = factory.LazyAttribute(lambda o: "" if o.message_type != "whatsapp" else "marketing")
    direction = UsageRecord.Direction.OUTBOUND
    status = UsageRecord.Status.DELIVERED
    country = "US"
    segments = 1
    unit_price = Decimal("0.007900")
    cost = factory.LazyAttribute(lambda o: o.unit_price * o.segments)
    carrier_fee = Decimal("0.003000")
    total = factory.LazyAttribute(lambda o: o.cost + o.carrier_fee)
    occurred_at = factory.LazyFunction(lambda: datetime(2026, 11, 1, 12, 0, tzinfo=UTC))


def default_price_list() -> None:
    """Load the shipped (illustrative) price list: a conversation version from 2024-01-01, per-message
    versions from 2025-07-01 and 2026-10-01 (window messages charged)."""
    call_command("loaddata", "default_price_list", verbosity=0)


def api_key_for(workspace: Workspace, name: str = "test key") -> str:
    """A new API key of the workspace; returns the secret (shown once)."""
    return api_key_create(workspace=workspace, name=name)[1]


def priced_sms_channel(workspace: Workspace, *, number: str = "+14155550100", balance: str = "10.00") -> Channel:
    """The shipped price list, an SMS channel holding a US number, and a funded SMS wallet."""
    default_price_list()
    channel = ChannelFactory(workspace=workspace, kind=Channel.Kind.SMS)
    PhoneNumberFactory(channel=channel, number=number, country="US")
    fund(wallet_of(workspace, "sms"), balance, key=f"test-fund:{workspace.slug}:sms")
    return channel


def usage_charge(record: UsageRecord) -> None:
    """Post a usage record's charges to its wallet as ingest does (message, then carrier fee)
    and link them, so that ledger and usage agree in tests that reconcile the two."""
    for field, kind, amount in (
        ("posting", "message_charge", record.cost),
        ("carrier_posting", "carrier_fee", record.carrier_fee),
    ):
        if amount:
            posting = ledger_post(
                wallet_id=record.wallet_id, kind=kind, amount=-amount, idempotency_key=f"{kind}:{record.message_id}"
            )
            setattr(record, field, posting.transaction)
    record.save(update_fields=["posting", "carrier_posting"])


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    effective_from = factory.LazyFunction(lambda: datetime(2020, 1, 1, tzinfo=UTC))


class NumberPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NumberPrice

    price_list = factory.SubFactory(PriceListFactory)
    country = "US"
    monthly_fee = Decimal("1.150000")


def finance_user(username: str = "finance"):
    """A staff user in the Finance group. The migration creates the group; transactional
    tests flush it away, so it is ensured again here the same way."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from finance.groups import FINANCE_GROUP, finance_group_ensure

    if not Group.objects.filter(name=FINANCE_GROUP).exists():
        finance_group_ensure(apps=apps)
    user = UserFactory(username=username)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=FINANCE_GROUP))
    return user


def tiered_whatsapp_price_list(**fields) -> PriceList:
    """A per-message version whose US utility rate falls through three volume tiers
    (0.010 for the month's 1st-5th message, 0.005 for the 6th-10th, 0.002 from the 11th);
    utility elsewhere is a flat 0.020."""
    price_list = PriceListFactory(**fields)
    rows = [("US", 1, "0.010000"), ("US", 6, "0.005000"), ("US", 11, "0.002000"), ("", 1, "0.020000")]
    Price.objects.bulk_create(
        Price(
            price_list=price_list, channel_family="whatsapp", message_type="whatsapp", category="utility",
            direction="outbound", country=country, tier_start=start, unit_price=Decimal(rate),
        )
        for country, start, rate in rows
    )  # fmt: skip
    return price_list


def usage_ingest_concurrently(workspace, batches: list[list[dict]], *, now) -> list:
    """Ingest each batch in a thread of its own, all released at once by a barrier; each
    result is the batch's IngestResult or the exception it raised (for the test to assert)."""
    barrier = threading.Barrier(len(batches))
    results: list = [None] * len(batches)

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = usage_ingest(workspace=workspace, events=batches[index], now=now)
        except Exception as error:  # surfaced by the caller's assertion
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
