"""A bounded concurrent soak on the same wallets: usage ingest (with retried batches), Stripe
webhooks (repeated and out of order), auto top-ups, number billing and finance adjustments,
all at once. Afterwards the ledger verifies and every total reconciles:
usage costs = message and carrier charges, Stripe payments = top-up credits,
number fees charged = number fee postings, adjustments posted = adjustments asked for."""

import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from payments.services import topup_checkout_start
from payments.tasks import auto_top_up_run
from phone_numbers.services import number_fees_bill
from tests.factories import PhoneNumberFactory, WorkspaceFactory, priced_sms_channel, wallet_of
from tests.stripe_helpers import post_event, save_card, session_id_of
from usage.models import NumberFeeCharge, UsageRecord
from usage.services import usage_ingest
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.services import ledger_post

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("SOAK_SECONDS", "8"))


def _total(queryset, field: str = "amount") -> Decimal:
    return queryset.aggregate(s=Sum(field))["s"] or Decimal(0)


def test_everything_at_once_on_the_same_wallets_reconciles(stripe_standin):
    workspaces = []
    for n in range(2):
        workspace = WorkspaceFactory(slug=f"soak-{n}")
        channel = priced_sms_channel(workspace, number=f"+141555501{n:02d}", balance="40.00")
        save_card(stripe_standin, workspace)
        for kind in ("sms", "whatsapp"):
            AutoTopUpRule.objects.create(
                wallet=wallet_of(workspace, kind), enabled=True, threshold=Decimal("20"), amount=Decimal("50")
            )
        for month in range(1, 10):
            PhoneNumberFactory(channel=channel, purchased_at=datetime(2026, month, 3 * month, 9, tzinfo=UTC))
        workspaces.append(workspace)
    stop = threading.Event()
    errors: list[BaseException] = []
    adjustments_asked: dict[tuple[int, str], Decimal] = {}
    counts = {"batches": 0, "deliveries": 0, "bills": 0, "auto_runs": 0}

    def loop(name: str, step) -> threading.Thread:
        def run() -> None:
            rng = random.Random(name)
            n = 0
            try:
                while not stop.is_set():
                    step(rng, n)
                    n += 1
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run, name=name)

    def ingest(rng: random.Random, n: int) -> None:
        workspace = rng.choice(workspaces)
        at = (timezone.now() - timedelta(minutes=1)).isoformat()
        number = f"+141555501{workspaces.index(workspace):02d}"
        batch = [
            {"id": f"{workspace.slug}-{n}-{i}", "channel": number, "type": "sms", "direction": "outbound",
             "status": "delivered", "country": "US", "segments": rng.randint(1, 4), "occurred_at": at}
            for i in range(rng.randint(1, 40))
        ]  # fmt: skip
        for _ in range(rng.choice((1, 1, 2))):  # a retried batch now and then
            usage_ingest(workspace=workspace, events=batch)
        counts["batches"] += 1

    def webhooks(rng: random.Random, n: int) -> None:
        workspace = rng.choice(workspaces)
        kind = rng.choice(("sms", "whatsapp"))
        url = topup_checkout_start(
            wallet=wallet_of(workspace, kind), amount=rng.choice(("20", "25.50", "100")), user=None, base_url="http://t"
        )
        assert stripe_standin.pay(session_id_of(url), "4242424242424242") is None
        # Redeliver a random sample of everything Stripe ever sent, in any order, some twice.
        events = list(stripe_standin.events)
        for event in rng.sample(events, k=min(len(events), 4)) + events[-1:] * rng.randint(0, 2):
            assert post_event(client, stripe_standin, event).status_code == 200
            counts["deliveries"] += 1

    def auto_top_ups(rng: random.Random, n: int) -> None:
        auto_top_up_run(wallet_of(rng.choice(workspaces), rng.choice(("sms", "whatsapp"))).id)
        counts["auto_runs"] += 1
        time.sleep(0.05)

    def billing(rng: random.Random, n: int) -> None:
        number_fees_bill()
        counts["bills"] += 1
        time.sleep(0.1)

    def finance(rng: random.Random, n: int) -> None:
        wallet = wallet_of(rng.choice(workspaces), rng.choice(("sms", "whatsapp")))
        key = f"finance:{n}"
        amount = Decimal(rng.randint(-3000, 1000)) / 100 or Decimal("1")
        for _ in range(rng.choice((1, 2))):  # an adjustment form submitted twice posts once
            ledger_post(wallet_id=wallet.id, kind="adjustment", amount=amount, idempotency_key=key, memo="soak")
        adjustments_asked[(wallet.id, key)] = amount
        time.sleep(0.02)

    client = Client()
    threads = [loop(name, step) for name, step in [
        ("ingest-1", ingest), ("ingest-2", ingest), ("webhooks", webhooks), ("auto", auto_top_ups),
        ("billing", billing), ("finance", finance),
    ]]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(60)
    # Every event once more, in reverse: a webhook that never arrived during the soak arrives now.
    for event in reversed(list(stripe_standin.events)):
        assert post_event(client, stripe_standin, event).status_code == 200

    assert not errors, errors
    call_command("verify_ledger")
    ledger = WalletTransaction.objects
    records = UsageRecord.objects.all()
    assert -_total(ledger.filter(kind__in=["message_charge", "carrier_fee"])) == _total(records, "total")
    paid_sessions = [
        o["amount_total"] for o in stripe_standin.objects.values()
        if o["object"] == "checkout.session" and o.get("payment_status") == "paid"
    ]  # fmt: skip
    intents = [
        o["amount_received"] for o in stripe_standin.objects.values()
        if o["object"] == "payment_intent" and o["status"] == "succeeded"
    ]  # fmt: skip
    assert _total(ledger.filter(kind="top_up")) == Decimal(sum(paid_sessions)) / 100
    # Every Stripe payment is a PaymentIntent, a Checkout one or an off-session auto top-up.
    assert _total(ledger.filter(kind__in=["top_up", "auto_top_up"])) == Decimal(sum(intents)) / 100
    assert -_total(ledger.filter(kind="number_fee")) == _total(NumberFeeCharge.objects.filter(posting__isnull=False))
    finance_rows = ledger.filter(kind="adjustment", memo="soak")
    assert finance_rows.count() == len(adjustments_asked)
    assert _total(finance_rows) == sum(adjustments_asked.values())
    assert all(c > 0 for c in counts.values()), counts
    print(
        f"\nSOAK {SECONDS:.0f}s: {records.count()} events in {counts['batches']} batches, "
        f"{counts['deliveries']} webhook deliveries, {len(paid_sessions)} checkouts, "
        f"{len(intents) - len(paid_sessions)} auto top-ups, "
        f"{counts['bills']} billing runs, {len(adjustments_asked)} adjustments, {ledger.count()} postings reconciled"
    )
