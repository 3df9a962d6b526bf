"""The finance dashboard's figures, and the recorded verify_ledger runs it shows."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from finance.models import LedgerCheck
from finance.selectors import dashboard_figures
from payments.models import TopUp
from tests.factories import ChannelFactory, PhoneNumberFactory, finance_user, fund, wallet_of
from wallets.models import Wallet
from wallets.services import ledger_post


def test_the_dashboard_figures_are_exact(workspace, other_workspace):
    with time_machine.travel(datetime(2026, 9, 10, tzinfo=UTC)):
        fund(wallet_of(workspace, "sms"), "50", key="t1", kind="top_up")
        topup = TopUp.objects.create(wallet=wallet_of(workspace, "sms"), kind="manual", amount=Decimal("50"))
        TopUp.objects.filter(pk=topup.pk).update(
            status="succeeded", amount_paid=Decimal("50"), posting=wallet_of(workspace, "sms").transactions.get()
        )
        fund(wallet_of(workspace, "sms"), "-0.123456", key="u1", kind="message_charge")
    with time_machine.travel(datetime(2026, 10, 2, tzinfo=UTC)):
        fund(wallet_of(other_workspace, "whatsapp"), "-7.5", key="u2", kind="carrier_fee")
        TopUp.objects.create(
            wallet=wallet_of(other_workspace, "sms"), kind="auto", amount=Decimal("20"), status="failed"
        )
    channel = ChannelFactory(workspace=workspace, kind="sms")
    PhoneNumberFactory(
        channel=channel, number="+14155550199", status="release_scheduled", release_scheduled_for=date(2026, 11, 30)
    )

    figures = dashboard_figures()

    assert figures.balances_held == Decimal("49.876544")
    assert figures.balances_owed == Decimal("7.500000")
    assert figures.months == [
        {"month": date(2026, 10, 1), "top_ups": Decimal("0"), "usage": Decimal("7.500000")},
        {"month": date(2026, 9, 1), "top_ups": Decimal("50.000000"), "usage": Decimal("0.123456")},
    ]
    assert [t.amount for t in figures.failed_auto_top_ups] == [Decimal("20.000000")]
    assert [n.number for n in figures.numbers_to_release] == ["+14155550199"]


def test_verify_ledger_records_each_run_and_the_dashboard_shows_the_last(client, workspace):
    fund(wallet_of(workspace, "sms"), "3", key="x")
    call_command("verify_ledger")
    check = LedgerCheck.objects.get()
    assert (check.ok, check.wallets_checked, check.rows_checked, check.problems) == (True, 2, 1, [])
    client.force_login(finance_user())
    page = client.get(reverse("finance_dashboard"))
    assert page.status_code == 200
    assert page.context["figures"].last_ledger_check == check
    assert 'Last ledger check</span>\n    <span class="tile-value">OK</span>' in page.content.decode()
    assert reverse("finance_dashboard") in client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_failed_verify_ledger_run_is_recorded_and_still_exits_with_an_error(workspace):
    fund(wallet_of(workspace, "sms"), "3", key="x")
    Wallet.objects.filter(kind="sms").update(balance=Decimal("4"))
    with pytest.raises(CommandError, match="FAILED"):
        call_command("verify_ledger")
    check = LedgerCheck.objects.get()
    assert check.ok is False and "cached balance 4.000000 != ledger sum 3.000000" in check.problems[0]


def test_the_beat_schedule_runs_the_ledger_check_daily():
    from billing_portal.beat import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["finance-ledger-check"]["task"] == "finance.tasks.ledger_check"


def test_seed_demo_leaves_the_finance_group_its_permissions(db):
    finance_user()  # the group as the migration leaves it
    before = set(Group.objects.get(name="Finance").permissions.values_list("codename", flat=True))
    call_command("seed_demo", verbosity=0)
    after = set(Group.objects.get(name="Finance").permissions.values_list("codename", flat=True))
    assert after == before and "post_adjustment" in after


def test_the_dashboard_charts_top_ups_against_usage_per_month_and_kind_and_links_each_figure(client, workspace):
    from usage.models import NumberFeeCharge

    sms = wallet_of(workspace, "sms")
    with time_machine.travel(datetime(2026, 10, 5, tzinfo=UTC)):
        posting = ledger_post(wallet_id=sms.id, kind="top_up", amount=Decimal("80"), idempotency_key="t").transaction
        TopUp.objects.create(wallet=sms, kind="manual", amount=Decimal("80"), status="succeeded",
                             amount_paid=Decimal("80"), posting=posting)  # fmt: skip
        TopUp.objects.create(wallet=sms, kind="manual", amount=Decimal("25"))  # pending at Stripe
    with time_machine.travel(datetime(2026, 11, 5, tzinfo=UTC)):
        fund(sms, "-12.5", key="u", kind="message_charge")
    number = PhoneNumberFactory(channel=ChannelFactory(workspace=workspace, kind="sms"), number="+14155550123")
    NumberFeeCharge.objects.create(
        phone_number=number, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
        amount=Decimal("1.15"), status="unpaid",
    )  # fmt: skip

    with time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC)):
        figures = dashboard_figures()
        client.force_login(finance_user())
        page = client.get(reverse("finance_dashboard")).content.decode()

    sms_chart = next(c for c in figures.charts if c["kind"] == "sms")
    by_month = {row["month"]: row for row in sms_chart["months"]}
    assert len(sms_chart["months"]) == 6
    assert (by_month[date(2026, 10, 1)]["top_ups"], by_month[date(2026, 11, 1)]["usage"]) == (
        Decimal("80.000000"),
        Decimal("12.500000"),
    )
    assert [b.value for b in sms_chart["chart"].bars if b.height] == [Decimal("80.000000"), Decimal("12.500000")]
    assert figures.unpaid_fees["count"] == 1 and figures.unpaid_fees["total"] == Decimal("1.150000")
    pending = next(r for r in figures.top_ups_at_stripe if r["status"] == "pending")
    assert (pending["count"], pending["total"]) == (1, Decimal("25.000000"))
    assert 'data-chart="sms"' in page and "<svg" in page
    usage_href = by_month[date(2026, 11, 1)]["usage_href"].replace("&", "&amp;")
    assert usage_href in page
    # Each link opens the admin list it sums, with exactly those rows.
    listing = client.get(by_month[date(2026, 11, 1)]["usage_href"])
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    assert client.get(figures.unpaid_fees["href"]).context["cl"].result_count == 1
    assert client.get(pending["href"]).context["cl"].result_count == 1
    assert client.get(by_month[date(2026, 10, 1)]["top_ups_href"]).context["cl"].result_count == 1
