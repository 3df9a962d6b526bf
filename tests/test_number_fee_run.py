"""The monthly fee run over many workspaces: the batched run (many workspaces per
transaction, one posting call per wallet) does exactly what billing every period in its
own transaction does, and its query count follows the workspaces, never the numbers."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import phone_numbers.services as number_billing
from phone_numbers.selectors import HELD_STATUSES, anniversary, billing_anchor, local_today, period_index
from phone_numbers.services import NumberBillingEvent, number_fees_bill, number_fees_settle, number_releases_run
from tests.factories import (
    ChannelFactory,
    MembershipFactory,
    PhoneNumberFactory,
    UserFactory,
    WorkspaceFactory,
    fund,
    wallet_of,
)
from usage.models import NumberFeeCharge, PhoneNumber
from wallets.models import AutoTopUpRule, Membership, Wallet, WalletTransaction, Workspace

pytestmark = pytest.mark.django_db

RUN_AT = datetime(2026, 9, 16, 12, tzinfo=UTC)


def _workspace(slug: str, *, balance: str, tz: str = "UTC") -> tuple[Workspace, Wallet]:
    workspace = WorkspaceFactory(slug=slug, name=slug.title(), timezone=tz)
    admin = UserFactory(username=f"admin-{slug}", email=f"admin@{slug}.example")
    MembershipFactory(user=admin, workspace=workspace, role=Membership.Role.ADMIN)
    wallet = wallet_of(workspace, Wallet.Kind.SMS)
    if Decimal(balance):
        fund(wallet, balance, key=f"opening:{slug}")
    return workspace, wallet


def _numbers(workspace: Workspace, *purchases: tuple[datetime, str]) -> list[PhoneNumber]:
    channel = ChannelFactory(workspace=workspace)
    return [
        PhoneNumberFactory(channel=channel, purchased_at=purchased_at, monthly_fee=Decimal(fee))
        for purchased_at, fee in purchases
    ]


def _unpaid(number: PhoneNumber, *period_starts: date) -> None:
    for period_start in period_starts:
        NumberFeeCharge.objects.create(
            phone_number=number,
            period_start=period_start,
            period_end=anniversary(period_start, 1) - timedelta(days=1),
            amount=number.monthly_fee,
            status=NumberFeeCharge.Status.UNPAID,
        )


@pytest.fixture
def many_workspaces() -> None:
    """Every case the run meets, spread over workspaces so that chunks cut between them."""
    jul15, jun30, jun15, may31 = (datetime(2026, m, d, 9, tzinfo=UTC) for m, d in ((7, 15), (6, 30), (6, 15), (5, 31)))
    rich, _ = _workspace("rich", balance="100")
    _numbers(rich, (jul15, "1.15"), (jul15, "1.15"), (jun30, "2.50"))
    # New York: bought late on 15 Jul local, 16 Jul UTC; two of three periods are covered.
    short, _ = _workspace("short", balance="2.30", tz="America/New_York")
    _numbers(short, (datetime(2026, 7, 16, 3, tzinfo=UTC), "1.15"), (jul15, "1.15"), (jul15, "1.15"))
    # Three months never billed: catch-up, oldest first, until the balance runs out.
    gap, _ = _workspace("gap", balance="5.00", tz="Asia/Hong_Kong")
    _numbers(gap, (may31, "1.15"), (datetime(2026, 6, 1, 9, tzinfo=UTC), "1.15"))
    # The batch stops at the second 3.00 fee; the cheaper period after it is still paid, one by one.
    mixed, _ = _workspace("mixed", balance="4.00")
    _numbers(mixed, (datetime(2026, 8, 16, 9, tzinfo=UTC), "1.15"), (jul15, "3.00"), (jul15, "0.50"))
    # One unpaid period already, none paid now: the second schedules the release.
    (second_unpaid,) = _numbers(_workspace("broke", balance="0")[0], (jul15, "1.15"))
    _unpaid(second_unpaid, date(2026, 8, 15))
    # A release due in the gap is performed, and its unpaid periods written off.
    scheduled = _numbers(_workspace("scheduled", balance="0")[0], (jun15, "1.15"))[0]
    _unpaid(scheduled, date(2026, 7, 15), date(2026, 8, 15))
    PhoneNumber.objects.filter(pk=scheduled.pk).update(
        status=PhoneNumber.Status.RELEASE_SCHEDULED, release_scheduled_for=date(2026, 9, 14)
    )
    # A release that fell due is performed even where the balance would cover the fee.
    funded_release = _numbers(_workspace("funded-release", balance="10")[0], (jun15, "1.15"))[0]
    PhoneNumber.objects.filter(pk=funded_release.pk).update(
        status=PhoneNumber.Status.RELEASE_SCHEDULED, release_scheduled_for=date(2026, 9, 14)
    )
    # Credited since its release was scheduled: the run pays the oldest period first, which
    # cancels the release (one unpaid left); the other stays unpaid.
    settle, settle_wallet = _workspace("settle", balance="0")
    (owed,) = _numbers(settle, (jul15, "1.15"))
    _unpaid(owed, date(2026, 8, 15), date(2026, 9, 15))
    PhoneNumber.objects.filter(pk=owed.pk).update(
        status=PhoneNumber.Status.RELEASE_SCHEDULED, release_scheduled_for=date(2026, 10, 14)
    )
    fund(settle_wallet, "2.00", key="settle:credit")
    for n in range(5):
        _numbers(_workspace(f"plain-{n}", balance="10")[0], (jul15, "1.15"), (jul15, "1.15"))


def _state() -> dict:
    return {
        "charges": sorted(
            NumberFeeCharge.objects.values_list(
                "phone_number__number",
                "period_start",
                "period_end",
                "amount",
                "status",
                "settled_at",
                "posting__idempotency_key",
                "posting__balance_after",
            )
        ),
        "ledger": list(
            WalletTransaction.objects.order_by("wallet_id", "id").values_list(
                "wallet__workspace__slug",
                "kind",
                "amount",
                "balance_before",
                "balance_after",
                "idempotency_key",
                "memo",
            )
        ),
        "balances": sorted(Wallet.objects.values_list("workspace__slug", "kind", "balance")),
        "numbers": sorted(PhoneNumber.objects.values_list("number", "status", "release_scheduled_for", "released_at")),
        "mail": sorted((message.to[0], message.subject, message.body) for message in mail.outbox),
    }


def _outcome(bill: Callable[[], list[NumberBillingEvent]], capture) -> tuple[list[str], dict]:
    """What a run does, then undone, so the other run starts from the same data."""
    mail.outbox.clear()
    with time_machine.travel(RUN_AT, tick=False), transaction.atomic():
        with capture(execute=True):
            events = [str(event) for event in bill()]
        outcome = events, _state()
        transaction.set_rollback(True)
    return outcome


def _period_by_period() -> list[NumberBillingEvent]:
    """The straightforward run: each workspace settles, then every due period of its numbers,
    oldest first, is billed in its own transaction; then the due releases."""
    now = timezone.now()
    events: list[NumberBillingEvent] = []
    held = PhoneNumber.objects.filter(channel__kind="sms", status__in=HELD_STATUSES, monthly_fee__gt=0)
    for workspace in Workspace.objects.filter(channels__numbers__in=held).distinct().order_by("id"):
        if NumberFeeCharge.objects.filter(status="unpaid", phone_number__channel__workspace=workspace).exists():
            events += number_fees_settle(wallet_id=wallet_of(workspace, "sms").id, now=now)
        today = local_today(workspace=workspace, now=now)
        due = []
        for number in held.filter(channel__workspace=workspace).select_related("channel__workspace"):
            anchor = billing_anchor(number)
            for index in range(1, period_index(anchor=anchor, today=today) + 1):
                if not number.fee_charges.filter(period_start=anniversary(anchor, index)).exists():
                    due.append((anniversary(anchor, index), number.id, index))
        for _, number_id, index in sorted(due):
            events += number_billing._period_bill(number_id=number_id, index=index, now=now)
    return events + number_releases_run(now=now)


def test_the_batched_run_does_exactly_what_billing_each_period_on_its_own_does(
    many_workspaces, settings, django_capture_on_commit_callbacks
):
    settings.FEE_RUN_CHUNK = 4  # several chunks, cut inside the workspaces' list

    batched_events, batched = _outcome(number_fees_bill, django_capture_on_commit_callbacks)
    reference_events, reference = _outcome(_period_by_period, django_capture_on_commit_callbacks)

    assert batched_events == reference_events
    assert batched == reference
    # The scenario reaches every branch, so the comparison means something.
    actions = {event.split()[2] for event in batched_events}
    assert actions == {"charged", "unpaid", "release_scheduled", "released", "paid_late", "release_cancelled"}
    assert sum("charged US$0.50" in event for event in batched_events) == 2  # the second after a 3.00 failed


def test_a_second_run_changes_nothing(many_workspaces, django_capture_on_commit_callbacks):
    with time_machine.travel(RUN_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        number_fees_bill()
    before = _state()

    with time_machine.travel(RUN_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert number_fees_bill() == []

    assert _state() == before


def _funded_workspaces(count: int, *, numbers_each: int, purchased_at: datetime) -> list[Wallet]:
    wallets = []
    for _ in range(count):
        workspace = WorkspaceFactory()
        wallets.append(wallet_of(workspace, Wallet.Kind.SMS))
        fund(wallets[-1], "20")
        channel = ChannelFactory(workspace=workspace)
        PhoneNumberFactory.create_batch(numbers_each, channel=channel, purchased_at=purchased_at)
    return wallets


def _run_queries(at: datetime) -> tuple[int, list[NumberBillingEvent]]:
    """Queries of one run that really commits, the posting receivers' included (they run on commit)."""
    with time_machine.travel(at, tick=False), CaptureQueriesContext(connection) as queries:
        events = number_fees_bill()
    return len(queries), events


@pytest.mark.django_db(transaction=True)  # real commits: the receivers run where they do in production
def test_a_fee_run_makes_as_many_queries_for_five_numbers_a_workspace_as_for_one():
    _funded_workspaces(6, numbers_each=1, purchased_at=datetime(2026, 7, 15, 9, tzinfo=UTC))
    _funded_workspaces(6, numbers_each=5, purchased_at=datetime(2026, 7, 16, 9, tzinfo=UTC))

    one_each, first = _run_queries(datetime(2026, 8, 15, 12, tzinfo=UTC))
    five_each, second = _run_queries(datetime(2026, 8, 16, 12, tzinfo=UTC))

    assert (len(first), len(second)) == (6, 30)
    assert {event.action for event in first + second} == {"charged"}
    assert five_each == one_each
    # A few reads, a lock, a read, an INSERT and an auto top-up check per chunk, and one
    # ledger_post_many (at most six queries) per wallet: nothing per number.
    assert one_each <= 12 + 6 * 6


@pytest.mark.django_db(transaction=True)  # the receivers run on a real commit, inside the run's batching
def test_a_fee_run_queues_an_auto_top_up_for_each_wallet_left_below_its_threshold_without_rule_queries(monkeypatch):
    wallets = _funded_workspaces(4, numbers_each=3, purchased_at=datetime(2026, 7, 15, 9, tzinfo=UTC))
    # 20.00 - 3 x 1.15 = 16.55 after the run: below 17, not below 16.55, and the rule at 30 is off.
    for wallet, threshold, enabled in (
        (wallets[0], "17", True),
        (wallets[1], "16.55", True),
        (wallets[2], "30", False),
    ):
        AutoTopUpRule.objects.create(wallet=wallet, enabled=enabled, threshold=Decimal(threshold), amount=Decimal(20))
    queued: list[int] = []
    monkeypatch.setattr("payments.services.auto_top_up_queue", lambda *, wallet_id: queued.append(wallet_id))

    with time_machine.travel(datetime(2026, 8, 15, 12, tzinfo=UTC), tick=False):
        with CaptureQueriesContext(connection) as queries:
            number_fees_bill()

    assert queued == [wallets[0].id]
    # The postings read the thresholds themselves (ledger_post_many): no rule query of its own.
    assert sum('"wallets_autotopuprule"' in query["sql"] for query in queries.captured_queries) == 0
    assert {wallet.balance for wallet in Wallet.objects.filter(pk__in=[w.pk for w in wallets])} == {Decimal("16.55")}
