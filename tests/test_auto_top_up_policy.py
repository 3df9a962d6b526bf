"""The auto top-up retry policy: a back-off doubling from the first decline, at most four
reattempts per card in 30 days, the daily maximum, the admin's monthly cap, the page that
says why auto top-up is paused and what resumes it, and the sweep after a lost task."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing_portal.beat import BEAT_SCHEDULE
from payments.models import StripeCustomer, TopUp
from payments.selectors import AutoTopUpPause, auto_top_up_pause
from payments.tasks import sweep_auto_top_ups
from tests.factories import fund, wallet_of
from tests.stripe_helpers import save_card
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def rule(workspace, stripe_standin):
    wallet = wallet_of(workspace, "sms")
    save_card(stripe_standin, workspace)
    return AutoTopUpRule.objects.create(wallet=wallet, enabled=True, threshold=Decimal("20"), amount=Decimal("50"))


def _attempt(rule, at, status="failed", method=None) -> TopUp:
    method = method or StripeCustomer.objects.get().payment_method_id
    topup = TopUp.objects.create(
        wallet=rule.wallet, kind="auto", amount=rule.amount, payment_method_id=method, failure_reason="Declined."
    )
    if status == "succeeded":
        fund(rule.wallet, str(rule.amount), key=f"paid:{topup.id}", kind="auto_top_up")
        credit = WalletTransaction.objects.get(idempotency_key=f"paid:{topup.id}")
        TopUp.objects.filter(pk=topup.pk).update(status=status, amount_paid=rule.amount, posting=credit)
    else:
        TopUp.objects.filter(pk=topup.pk).update(status=status)
    TopUp.objects.filter(pk=topup.pk).update(created_at=at)
    return topup


def _pause(rule, now) -> AutoTopUpPause | None:
    rule.refresh_from_db()
    return auto_top_up_pause(wallet=rule.wallet, rule=rule, customer=StripeCustomer.objects.get(), now=now)


def test_the_wait_after_a_decline_doubles_with_each_failure_in_a_row(rule):
    start = timezone.now() - timedelta(days=2)
    waits = []
    for n in range(4):
        failed_at = start + n * 20 * HOUR
        _attempt(rule, failed_at)
        pause = _pause(rule, failed_at + timedelta(seconds=1))
        assert pause.action == "wait"
        waits.append(pause.until - failed_at)
        assert _pause(rule, pause.until + timedelta(seconds=1)) is None

    assert waits == [HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR]


def test_a_success_ends_the_back_off(rule):
    now = timezone.now()
    _attempt(rule, now - 3 * HOUR)
    _attempt(rule, now - 2 * HOUR)
    _attempt(rule, now - 90 * timedelta(minutes=1), status="succeeded")

    assert _pause(rule, now) is None


def test_after_four_reattempts_in_30_days_the_card_is_not_tried_again_until_it_is_replaced(
    owner_client, workspace, stripe_standin, rule
):
    now = timezone.now()
    _attempt(rule, now - 40 * timedelta(days=1))  # outside the 30 days: not counted
    for days_ago in (20, 15, 10, 5):
        _attempt(rule, now - days_ago * timedelta(days=1))
    assert _pause(rule, now) is None  # the first decline and three reattempts: one more is allowed

    _attempt(rule, now - 2 * timedelta(days=1))

    pause = _pause(rule, now)
    assert (pause.action, pause.reason) == ("replace_card", "the saved card was declined 5 times in 30 days")
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()
    assert "Auto top-up paused because the saved card was declined 5 times in 30 days." in page
    assert "Replace card</button> to resume it." in page

    save_card(stripe_standin, workspace, "5555555555554444")
    assert _pause(rule, now) is None


def test_the_daily_maximum_pauses_until_the_oldest_attempt_is_a_day_old(rule, settings):
    settings.AUTO_TOP_UP_MAX_PER_DAY = 2
    now = timezone.now()
    first = _attempt(rule, now - 5 * HOUR, status="succeeded")
    _attempt(rule, now - HOUR, status="succeeded")

    pause = _pause(rule, now)

    first.refresh_from_db()
    assert (pause.action, pause.until) == ("wait", first.created_at + timedelta(days=1))
    assert pause.reason == "it ran 2 times in the last 24 hours"


def test_monthly_cap_is_off_by_default_and_once_reached_pauses_until_the_admin_raises_it(
    owner_client, workspace, stripe_standin, rule, django_capture_on_commit_callbacks
):
    assert rule.monthly_cap is None
    now = timezone.now()
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    _attempt(rule, month_start - HOUR, status="succeeded")  # last month: not counted
    _attempt(rule, month_start + timedelta(seconds=1), status="succeeded")
    _attempt(rule, month_start + timedelta(seconds=2), status="succeeded")
    assert _pause(rule, now) is None

    response = owner_client.post(
        reverse("payments:auto_top_up_save", args=["acme", "sms"]),
        {"enabled": "on", "threshold": "20", "auto_amount": "50", "monthly_cap": "120"},
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.monthly_cap == Decimal("120.000000")
    pause = _pause(rule, now)
    assert pause.action == "raise_cap"
    assert pause.reason == "this month's auto top-ups (US$100.00) would pass the monthly cap of US$120.00"
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()
    assert "Auto top-up paused because this month&#x27;s auto top-ups (US$100.00) would pass" in page
    assert "Raise the monthly cap</a> to resume it." in page
    assert 'name="monthly_cap" value="120.00"' in page

    wallet = rule.wallet
    fund(wallet, "-160", key="spend")  # balance 150 - 160 = -10, below the threshold
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("payments:auto_top_up_save", args=["acme", "sms"]),
            {"enabled": "on", "threshold": "20", "auto_amount": "50", "monthly_cap": "150"},
        )

    assert TopUp.objects.filter(status="succeeded").count() == 4
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("40.000000")
    assert ledger_verify().problems == []


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        ("49.99", "The monthly cap must be at least one auto top-up (US$50.00), or empty."),
        ("abc", "Monthly cap: “abc” is not an amount. Type digits with an optional point, e.g. 1000.00 or 1,000.00."),
        ("1e9", "Monthly cap: “1e9” is not an amount. Type digits with an optional point, e.g. 1000.00 or 1,000.00."),
    ],
)
def test_a_monthly_cap_that_could_never_allow_a_top_up_is_refused(owner_client, rule, cap, message):
    from django.contrib.messages import get_messages

    response = owner_client.post(
        reverse("payments:auto_top_up_save", args=["acme", "sms"]),
        {"enabled": "on", "threshold": "20", "auto_amount": "50", "monthly_cap": cap},
    )

    assert [str(m) for m in get_messages(response.wsgi_request)] == [message]
    rule.refresh_from_db()
    assert rule.monthly_cap is None


def test_the_sweep_starts_the_top_up_a_lost_task_never_started_and_leaves_the_others(
    workspace, other_workspace, stripe_standin, rule, django_capture_on_commit_callbacks
):
    # The posting that crossed the threshold committed; its queued task died with its worker.
    fund(rule.wallet, "5", key="opening")
    save_card(stripe_standin, other_workspace)
    busy = AutoTopUpRule.objects.create(
        wallet=wallet_of(other_workspace, "sms"), enabled=True, threshold=Decimal("20"), amount=Decimal("20")
    )
    in_flight = TopUp.objects.create(wallet=busy.wallet, kind="auto", amount=Decimal("20"))
    AutoTopUpRule.objects.create(
        wallet=wallet_of(workspace, "whatsapp"), enabled=False, threshold=Decimal("50"), amount=Decimal("100")
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_auto_top_ups() == [rule.wallet_id]

    topup = TopUp.objects.get(wallet=rule.wallet)
    assert (topup.status, topup.amount_paid) == ("succeeded", Decimal("50.000000"))
    rule.wallet.refresh_from_db()
    assert rule.wallet.balance == Decimal("55.000000")
    in_flight.refresh_from_db()
    assert in_flight.status == "pending"  # reconcile's to finish, with its own Idempotency-Key
    assert not TopUp.objects.filter(wallet__kind="whatsapp").exists()
    assert sweep_auto_top_ups() == []  # now above the threshold
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 1


def test_the_sweep_runs_every_five_minutes():
    entry = BEAT_SCHEDULE["payments-auto-top-up-sweep"]

    assert (entry["task"], entry["schedule"]) == ("payments.tasks.sweep_auto_top_ups", 300)
