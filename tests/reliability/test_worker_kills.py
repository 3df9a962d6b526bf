"""Fault injection: a real Celery worker on Redis is killed with SIGKILL again and again while
it runs auto top-ups, number billing and the follow-up work of usage ingest, then restarted.
Afterwards nothing is lost and nothing happened twice: the ledger verifies, every usage event
is charged once, every number period is billed at most once, and the Stripe stand-in holds
exactly one PaymentIntent per auto top-up credited."""

import os
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from payments.models import TopUp
from phone_numbers.tasks import bill_number_fees, settle_number_fees
from tests.factories import PhoneNumberFactory, WorkspaceFactory, priced_sms_channel, wallet_of
from tests.reliability.worker import Worker, broker_backlog, broker_reset, tasks_really_queued
from tests.stripe_helpers import save_card
from usage.models import NumberFeeCharge, UsageRecord
from usage.services import usage_ingest
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.services import ledger_post

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KILLS = int(os.environ.get("RELIABILITY_KILLS", "20"))
EVENTS_PER_CYCLE = 10


def _events(workspace, cycle: int) -> list[dict]:
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    return [
        {
            "id": f"{workspace.slug}-{cycle}-{n}",
            "channel": "+1415555" + str(1000 + workspace.id % 9000)[-4:],
            "type": "sms",
            "direction": "outbound",
            "status": "delivered",
            "country": "US",
            "segments": 1 + n % 3,
            "occurred_at": at,
        }
        for n in range(EVENTS_PER_CYCLE)
    ]


def _queue_work(workspaces, cycle: int, rng: random.Random) -> None:
    """What the platform and beat would hand the worker in a busy second."""
    for workspace in workspaces:
        sms = wallet_of(workspace, "sms")
        usage_ingest(workspace=workspace, events=_events(workspace, cycle))
        # A finance charge takes the balance under the threshold: the auto top-up is queued on commit.
        ledger_post(
            wallet_id=sms.id, kind="adjustment", amount=Decimal("-35"), idempotency_key=f"drain:{sms.id}:{cycle}"
        )
        # A number bought months ago with fees due, for the billing task to find.
        PhoneNumberFactory(
            channel=workspace.channels.get(),
            number=f"+1415{workspace.id % 100:02d}{cycle:05d}",
            purchased_at=datetime(2026, rng.randint(1, 9), rng.randint(1, 28), 12, tzinfo=UTC),
        )
        settle_number_fees.delay(sms.id)
    bill_number_fees.delay()


def test_sigkilled_workers_lose_nothing_and_charge_nothing_twice(stripe_standin, tmp_path):
    rng = random.Random(20261123)
    workspaces = []
    for n in range(3):
        workspace = WorkspaceFactory(slug=f"fault-{n}")
        priced_sms_channel(workspace, number="+1415555" + str(1000 + workspace.id % 9000)[-4:], balance="30.00")
        save_card(stripe_standin, workspace)
        AutoTopUpRule.objects.create(
            wallet=wallet_of(workspace, "sms"), enabled=True, threshold=Decimal("20"), amount=Decimal("50")
        )
        workspaces.append(workspace)
    broker_reset()
    worker = Worker(
        log=tmp_path / "worker.log",
        env={
            "STRIPE_API_BASE": stripe_standin.url,
            "CELERY_VISIBILITY_TIMEOUT": "2",
            "AUTO_TOP_UP_MAX_PER_DAY": "100000",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        },
    )
    in_flight_at_kill = 0
    try:
        with tasks_really_queued():
            for cycle in range(KILLS):
                worker.start()
                _queue_work(workspaces, cycle, rng)
                time_to_kill = rng.uniform(0.1, 0.8)
                time.sleep(time_to_kill)
                in_flight_at_kill += broker_backlog() != (0, 0)
                worker.kill()
            worker.start()
            worker.drain()
    finally:
        worker.stop()
        broker_reset()

    call_command("verify_ledger")  # raises CommandError on any broken chain or drifted balance
    ledger = WalletTransaction.objects
    # Every usage event recorded once and charged once.
    records = UsageRecord.objects.filter(workspace__in=workspaces)
    assert records.count() == KILLS * len(workspaces) * EVENTS_PER_CYCLE
    charged = -(ledger.filter(kind="message_charge").aggregate(s=Sum("amount"))["s"])
    assert charged == records.aggregate(s=Sum("cost"))["s"]
    # Every number period billed at most once, each paid one by exactly one posting.
    periods = Counter(NumberFeeCharge.objects.values_list("phone_number_id", "period_start"))
    assert periods and max(periods.values()) == 1
    paid = NumberFeeCharge.objects.filter(posting__isnull=False)
    assert paid.values("posting").distinct().count() == paid.count() == ledger.filter(kind="number_fee").count()
    # No auto top-up charged twice: one PaymentIntent per credited top-up, none left pending.
    intents = [o for o in stripe_standin.objects.values() if o["object"] == "payment_intent"]
    per_topup = Counter(pi["metadata"]["topup_id"] for pi in intents)
    autos = TopUp.objects.filter(kind="auto")
    assert autos.filter(status="pending").count() == 0
    assert max(per_topup.values()) == 1
    assert len(intents) == autos.filter(status="succeeded").count() == ledger.filter(kind="auto_top_up").count()
    assert (
        sum(Decimal(pi["amount_received"]) / 100 for pi in intents)
        == ledger.filter(kind="auto_top_up").aggregate(s=Sum("amount"))["s"]
    )
    assert worker.kills == KILLS
    print(
        f"\nFAULTS: {worker.kills} SIGKILLs ({in_flight_at_kill} with work in flight), {records.count()} events, "
        f"{ledger.count()} postings, {len(periods)} number periods, {len(intents)} PaymentIntents: nothing lost"
    )
