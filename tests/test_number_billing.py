"""Monthly number fees and automatic release, through the real Celery task functions."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from alerts.models import Event
from phone_numbers.selectors import anniversary
from phone_numbers.services import NumberPurchaseRefused, number_fees_bill, phone_number_purchase
from phone_numbers.tasks import bill_number_fees, release_due_numbers
from tests.factories import ChannelFactory, NumberPriceFactory, fund, wallet_of
from usage.models import NumberFeeCharge, PhoneNumber
from wallets.models import Wallet, WalletTransaction
from wallets.selectors import WalletState, wallet_status

pytestmark = pytest.mark.django_db

FEE = Decimal("1.150000")


@pytest.fixture
def sms_wallet(workspace) -> Wallet:
    NumberPriceFactory(country="US", monthly_fee=FEE)
    return wallet_of(workspace, Wallet.Kind.SMS)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run beat's two tasks at a moment, with on-commit work (emails, settle tasks) executed."""

    def run_at(moment: datetime) -> None:
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            bill_number_fees()
            release_due_numbers()

    return run_at


@pytest.fixture
def credit(django_capture_on_commit_callbacks):
    def credit_at(wallet: Wallet, amount: str, moment: datetime, kind: str = "top_up") -> None:
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            fund(wallet, amount, kind=kind)

    return credit_at


def buy(workspace, *, at: datetime, number: str = "+14155550100") -> PhoneNumber:
    channel = ChannelFactory(workspace=workspace, kind="sms")
    with time_machine.travel(at, tick=False):
        return phone_number_purchase(workspace=workspace, channel_id=channel.id, number=number, country="US")


@pytest.fixture
def number(workspace, sms_wallet) -> PhoneNumber:
    """The reference example's number: bought 15 Jul with exactly its first fee, leaving US$0."""
    fund(sms_wallet, "1.15")
    return buy(workspace, at=datetime(2026, 7, 15, 10, tzinfo=UTC))


def noon(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def charges(number: PhoneNumber) -> list[tuple[date, str]]:
    return list(number.fee_charges.order_by("period_start").values_list("period_start", "status"))


def test_reference_example_day_by_day_unpaid_twice_then_released_on_14_october_and_never_billed_again(
    workspace, owner, sms_wallet, run, number
):
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("0")
    assert charges(number) == [(date(2026, 7, 15), "charged")]

    day = date(2026, 7, 16)
    while day <= date(2026, 11, 20):
        run(noon(day.year, day.month, day.day))
        number.refresh_from_db()
        if day == date(2026, 8, 15):
            assert charges(number)[-1] == (date(2026, 8, 15), "unpaid")
            assert number.status == "active"
            assert [m.subject for m in mail.outbox] == ["[Acme] Monthly fee for +14155550100 unpaid"]
            assert "will be released on 14 Oct 2026 unless you top up" in mail.outbox[0].body
            assert mail.outbox[0].to == ["owner@example.com"]
        if day == date(2026, 9, 15):
            assert charges(number)[-1] == (date(2026, 9, 15), "unpaid")
            assert (number.status, number.release_scheduled_for) == ("release_scheduled", date(2026, 10, 14))
            assert mail.outbox[1].subject == "[Acme] Number +14155550100 will be released on 14 Oct 2026"
        if day == date(2026, 10, 13):
            assert number.status == "release_scheduled"
        if day == date(2026, 10, 14):
            assert number.status == "released"
            assert number.released_at == noon(2026, 10, 14)
            assert mail.outbox[2].subject == "[Acme] Number +14155550100 was released"
        day += timedelta(days=1)

    assert charges(number) == [
        (date(2026, 7, 15), "charged"),
        (date(2026, 8, 15), "written_off"),
        (date(2026, 9, 15), "written_off"),
    ]
    assert len(mail.outbox) == 3
    # The same steps as events (webhooks, GET /api/v1/events), each once.
    assert list(Event.objects.order_by("id").values_list("type", "data__release_on", "data__number")) == [
        ("number.fee_unpaid", "2026-10-14", "+14155550100"),
        ("number.release_scheduled", "2026-10-14", "+14155550100"),
        ("number.released", "2026-10-14", "+14155550100"),
    ]
    assert Event.objects.get(type="number.released").data["written_off"] == 2
    assert WalletTransaction.objects.filter(wallet=sms_wallet, kind="number_fee").count() == 1
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("0")


def test_a_top_up_on_20_september_pays_both_periods_and_cancels_the_release(
    workspace, owner, sms_wallet, run, credit, number
):
    run(noon(2026, 8, 15))
    run(noon(2026, 9, 15))
    number.refresh_from_db()
    assert number.status == "release_scheduled"

    credit(sms_wallet, "5.00", noon(2026, 9, 20))

    number.refresh_from_db()
    sms_wallet.refresh_from_db()
    assert (number.status, number.release_scheduled_for) == ("active", None)
    assert charges(number)[1:] == [(date(2026, 8, 15), "paid_late"), (date(2026, 9, 15), "paid_late")]
    assert sms_wallet.balance == Decimal("2.700000")
    assert mail.outbox[-1].subject == "[Acme] Release of +14155550100 cancelled"
    assert Event.objects.filter(type="number.release_cancelled").count() == 1

    run(noon(2026, 10, 14))
    run(noon(2026, 10, 15))
    number.refresh_from_db()
    sms_wallet.refresh_from_db()
    assert number.status == "active"
    assert charges(number)[-1] == (date(2026, 10, 15), "charged")
    assert sms_wallet.balance == Decimal("1.550000")


def test_a_top_up_covering_one_period_pays_the_oldest_and_still_cancels_the_release(
    workspace, owner, sms_wallet, run, credit, number
):
    run(noon(2026, 8, 15))
    run(noon(2026, 9, 15))

    credit(sms_wallet, "2.00", noon(2026, 9, 20), kind="adjustment")

    number.refresh_from_db()
    sms_wallet.refresh_from_db()
    assert charges(number)[1:] == [(date(2026, 8, 15), "paid_late"), (date(2026, 9, 15), "unpaid")]
    assert (number.status, number.release_scheduled_for) == ("active", None)
    assert sms_wallet.balance == Decimal("0.850000")


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 1, date(2028, 3, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 4, 30), 1, date(2026, 5, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_anniversaries_clamp_to_the_month_end_and_return_to_the_purchase_day(anchor, months, expected):
    assert anniversary(anchor, months) == expected


def test_a_number_bought_on_31_january_bills_28_february_then_31_march_then_30_april(workspace, owner, sms_wallet, run):
    fund(sms_wallet, "100")
    number = buy(workspace, at=datetime(2026, 1, 31, 9, tzinfo=UTC))
    run(noon(2026, 2, 27))
    assert len(charges(number)) == 1
    for day in (date(2026, 2, 28), date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 30)):
        run(noon(day.year, day.month, day.day))
    assert charges(number) == [
        (date(2026, 1, 31), "charged"),
        (date(2026, 2, 28), "charged"),
        (date(2026, 3, 31), "charged"),
        (date(2026, 4, 30), "charged"),
    ]
    assert number.fee_charges.get(period_start=date(2026, 2, 28)).period_end == date(2026, 3, 30)


def test_a_number_bought_on_29_february_of_a_leap_year_bills_the_29th_and_28_february_next_year(
    workspace, owner, sms_wallet, run
):
    fund(sms_wallet, "100")
    number = buy(workspace, at=datetime(2028, 2, 29, 9, tzinfo=UTC))
    run(noon(2028, 3, 29))
    run(noon(2029, 2, 27))
    assert charges(number)[-1] == (date(2029, 1, 29), "charged")
    run(noon(2029, 2, 28))
    assert charges(number)[-1] == (date(2029, 2, 28), "charged")
    assert len(charges(number)) == 13


def test_a_number_bought_on_30_april_bills_the_30th(workspace, owner, sms_wallet, run):
    fund(sms_wallet, "100")
    number = buy(workspace, at=datetime(2026, 4, 30, 9, tzinfo=UTC))
    run(noon(2026, 5, 30))
    run(noon(2026, 6, 30))
    assert [d for d, _ in charges(number)] == [date(2026, 4, 30), date(2026, 5, 30), date(2026, 6, 30)]


@pytest.mark.parametrize(
    ("tz", "purchased_utc", "last_minute_before_utc"),
    [
        # 15 Jul 00:30 in Hong Kong is still 14 Jul in UTC: the anchor is the local 15th.
        ("Asia/Hong_Kong", datetime(2026, 7, 14, 16, 30, tzinfo=UTC), datetime(2026, 8, 14, 15, 59, tzinfo=UTC)),
        # 15 Jul 23:00 in New York is already 16 Jul in UTC.
        ("America/New_York", datetime(2026, 7, 16, 3, 0, tzinfo=UTC), datetime(2026, 8, 15, 3, 59, tzinfo=UTC)),
    ],
)
def test_billing_follows_the_workspace_midnight_not_utc(
    workspace, owner, sms_wallet, run, tz, purchased_utc, last_minute_before_utc
):
    workspace.timezone = tz
    workspace.save()
    fund(sms_wallet, "100")
    number = buy(workspace, at=purchased_utc)
    assert charges(number) == [(date(2026, 7, 15), "charged")]

    run(last_minute_before_utc)
    assert len(charges(number)) == 1
    run(last_minute_before_utc + timedelta(minutes=1))
    assert charges(number)[-1] == (date(2026, 8, 15), "charged")
    assert (last_minute_before_utc + timedelta(minutes=1)).astimezone(ZoneInfo(tz)).hour == 0


def test_after_a_40_day_gap_one_run_bills_every_missed_period_once_in_date_order(workspace, owner, sms_wallet, run):
    fund(sms_wallet, "2.30")
    number = buy(workspace, at=datetime(2026, 7, 15, 10, tzinfo=UTC))
    run(noon(2026, 8, 10))
    with time_machine.travel(noon(2026, 9, 19), tick=False):
        events = [str(event) for event in number_fees_bill()]
    assert events == [
        "2026-08-15 +14155550100 charged US$1.15",
        "2026-09-15 +14155550100 unpaid US$1.15",
    ]
    run(noon(2026, 9, 19))
    assert charges(number)[1:] == [(date(2026, 8, 15), "charged"), (date(2026, 9, 15), "unpaid")]
    assert WalletTransaction.objects.filter(wallet=sms_wallet, kind="number_fee").count() == 2


def test_catch_up_schedules_and_performs_a_release_that_fell_due_in_the_gap(workspace, owner, sms_wallet, run, number):
    run(noon(2026, 8, 15))
    run(noon(2026, 9, 5) + timedelta(days=40))  # 15 Oct: the 15 Sep period, the release on 14 Oct, no Oct fee

    number.refresh_from_db()
    assert (number.status, number.release_scheduled_for) == ("released", date(2026, 10, 14))
    assert charges(number)[1:] == [(date(2026, 8, 15), "written_off"), (date(2026, 9, 15), "written_off")]
    assert [m.subject for m in mail.outbox] == [
        "[Acme] Monthly fee for +14155550100 unpaid",
        "[Acme] Number +14155550100 will be released on 14 Oct 2026",
        "[Acme] Number +14155550100 was released",
    ]


def test_running_the_tasks_twice_charges_nothing_twice(workspace, owner, sms_wallet, run):
    fund(sms_wallet, "10")
    number = buy(workspace, at=datetime(2026, 7, 15, 10, tzinfo=UTC))
    run(noon(2026, 8, 15))
    run(noon(2026, 8, 15))
    run(noon(2026, 8, 16))
    sms_wallet.refresh_from_db()
    assert len(charges(number)) == 2
    assert sms_wallet.balance == Decimal("7.700000")


def test_a_balance_exactly_equal_to_the_fee_pays_it_leaves_zero_and_suspends_sms(workspace, owner, sms_wallet, run):
    fund(sms_wallet, "2.30")
    number = buy(workspace, at=datetime(2026, 7, 15, 10, tzinfo=UTC))
    run(noon(2026, 8, 15))
    sms_wallet.refresh_from_db()
    assert charges(number)[-1] == (date(2026, 8, 15), "charged")
    assert sms_wallet.balance == Decimal("0")
    assert wallet_status(kind="sms", balance=sms_wallet.balance).state == WalletState.SUSPENDED
    # No number notice; the wallet's own suspension event tells the admins once.
    assert [m.subject for m in mail.outbox] == ["[Acme] SMS wallet empty: SMS and MMS suspended"]


def test_a_purchase_the_balance_cannot_cover_is_refused_and_writes_nothing(workspace, owner, sms_wallet):
    fund(sms_wallet, "1.00")
    channel = ChannelFactory(workspace=workspace, kind="sms")
    with pytest.raises(NumberPurchaseRefused, match=r"\(US\$1.00\) does not cover the first monthly fee of US\$1.15"):
        phone_number_purchase(workspace=workspace, channel_id=channel.id, number="+14155550100", country="US")
    assert PhoneNumber.objects.count() == 0
    assert NumberFeeCharge.objects.count() == 0
    assert WalletTransaction.objects.filter(wallet=sms_wallet).count() == 1


@pytest.mark.parametrize(
    ("raw_number", "country", "message"),
    [
        ("4155550100", "US", "E.164"),
        ("+14155550100", "USA", "two-letter"),
        ("+14155550100", "FR", "no price"),
    ],
)
def test_a_purchase_with_bad_input_is_refused_and_writes_nothing(workspace, sms_wallet, raw_number, country, message):
    fund(sms_wallet, "10")
    channel = ChannelFactory(workspace=workspace, kind="sms")
    with pytest.raises(NumberPurchaseRefused, match=message):
        phone_number_purchase(workspace=workspace, channel_id=channel.id, number=raw_number, country=country)
    assert PhoneNumber.objects.count() == 0
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("10")


def test_a_held_number_or_another_workspace_channel_cannot_be_bought(workspace, other_workspace, sms_wallet):
    fund(sms_wallet, "10")
    buy(workspace, at=datetime(2026, 7, 15, 10, tzinfo=UTC))
    channel = ChannelFactory(workspace=workspace, kind="sms")
    with pytest.raises(NumberPurchaseRefused, match=r"^\+14155550100 is not available\. Choose another number\.$"):
        phone_number_purchase(workspace=workspace, channel_id=channel.id, number="+14155550100", country="US")
    foreign = ChannelFactory(workspace=other_workspace, kind="sms")
    with pytest.raises(NumberPurchaseRefused, match="SMS channels"):
        phone_number_purchase(workspace=workspace, channel_id=foreign.id, number="+14155550199", country="US")
    sms_wallet.refresh_from_db()
    assert sms_wallet.balance == Decimal("8.850000")


def test_a_credit_to_the_whatsapp_wallet_pays_no_number_fee(workspace, owner, sms_wallet, run, credit, number):
    run(noon(2026, 8, 15))
    credit(wallet_of(workspace, Wallet.Kind.WHATSAPP), "50.00", noon(2026, 8, 16))
    assert charges(number)[-1] == (date(2026, 8, 15), "unpaid")


def test_beat_runs_both_number_tasks_every_hour():
    from billing_portal.beat import BEAT_SCHEDULE
    from billing_portal.celery import app

    entries = {entry["task"]: entry["schedule"] for entry in BEAT_SCHEDULE.values()}
    assert {"phone_numbers.tasks.bill_number_fees", "phone_numbers.tasks.release_due_numbers"} <= set(entries)
    for task_name in ("phone_numbers.tasks.bill_number_fees", "phone_numbers.tasks.release_due_numbers"):
        assert task_name in app.tasks
        assert entries[task_name].hour == set(range(24))


def test_with_three_unpaid_cycles_allowed_the_number_is_released_a_month_later(
    workspace, owner, sms_wallet, run, number, settings
):
    settings.UNPAID_CYCLES_BEFORE_RELEASE = 3

    run(noon(2026, 8, 15))
    run(noon(2026, 9, 15))
    number.refresh_from_db()
    assert (number.status, number.release_scheduled_for) == ("active", None)
    assert [m.subject for m in mail.outbox] == ["[Acme] Monthly fee for +14155550100 unpaid"] * 2
    assert all("will be released on 14 Nov 2026 unless you top up" in m.body for m in mail.outbox)

    run(noon(2026, 10, 14))
    number.refresh_from_db()
    assert number.status == "active"

    run(noon(2026, 10, 15))
    number.refresh_from_db()
    assert (number.status, number.release_scheduled_for) == ("release_scheduled", date(2026, 11, 14))
    assert mail.outbox[2].subject == "[Acme] Number +14155550100 will be released on 14 Nov 2026"
    assert "for 3 billing periods in a row" in mail.outbox[2].body

    run(noon(2026, 11, 14))
    number.refresh_from_db()
    assert number.status == "released"
    assert charges(number)[1:] == [
        (date(2026, 8, 15), "written_off"),
        (date(2026, 9, 15), "written_off"),
        (date(2026, 10, 15), "written_off"),
    ]
    assert "unpaid for 3 billing periods" in mail.outbox[3].body


def test_with_three_cycles_allowed_paying_one_of_three_cancels_the_release(
    workspace, owner, sms_wallet, run, credit, number, settings
):
    settings.UNPAID_CYCLES_BEFORE_RELEASE = 3
    for month in (8, 9, 10):
        run(noon(2026, month, 15))
    number.refresh_from_db()
    assert number.status == "release_scheduled"

    credit(sms_wallet, "1.15", noon(2026, 10, 20))  # pays the oldest period only: two stay unpaid

    number.refresh_from_db()
    assert (number.status, number.release_scheduled_for) == ("active", None)
    assert [status for _, status in charges(number)] == ["charged", "paid_late", "unpaid", "unpaid"]
