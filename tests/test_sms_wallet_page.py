"""The SMS wallet page: balance, summaries and table that follow the filters, bad input, query budget."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import PhoneNumberFactory, UsageRecordFactory, fund, wallet_of
from tests.usage_data import NOV, sms_month
from usage.models import DailyUsageRollup, UsageRecord
from usage.rollups import rollups_rebuild
from usage.selectors import usage_filters_parse

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def month(workspace, other_workspace):
    return sms_month(workspace, other_workspace)


def get(client, workspace, **params):
    return client.get(reverse("sms_wallet", args=[workspace.slug]), params)


def shown_ids(response) -> list[str]:
    return [record.message_id for record in response.context["records"].object_list]


def test_summaries_equal_the_sums_of_the_records_in_the_range(owner_client, workspace, month):
    response = get(owner_client, workspace, **NOV)

    assert response.status_code == 200
    summary = response.context["summary"]
    in_range = UsageRecord.objects.filter(message_id__in=[r.message_id for r in month.in_range])
    assert summary.messages == 4 == in_range.count()
    assert summary.segments == 7 == sum(r.segments for r in in_range)
    assert summary.message_cost == D("0.067400") == sum(r.cost for r in in_range)
    assert summary.carrier_fees == D("0.009000") == sum(r.carrier_fee for r in in_range)
    assert summary.number_fees == D("1.150000")
    assert summary.total == D("1.226400")
    html = response.content.decode()
    assert 'data-summary="total" data-amount="1.226400">US$1.23<' in html
    assert 'data-summary="number_fees" data-amount="1.150000">US$1.15<' in html
    assert 'data-balance="13.762700"' in html
    assert shown_ids(response) == ["nov-30-late", "nov-10-uk", "nov-1-late", "nov-1"]


def test_days_are_the_workspace_local_days(owner_client, workspace, month):
    # 03:30 UTC on 2 Nov is 22:30 on 1 Nov in New York; 04:59 UTC on 1 Dec is 30 Nov.
    response = get(owner_client, workspace, start="2026-11-01", end="2026-11-01")
    assert shown_ids(response) == ["nov-1-late", "nov-1"]
    days = response.context["summary"].days
    assert [(d.day.isoformat(), d.messages) for d in days] == [("2026-11-01", 2)]

    response = get(owner_client, workspace, start="2026-11-30", end="2026-11-30")
    assert shown_ids(response) == ["nov-30-late"]
    assert ">30 Nov 2026, 23:59</time>" in response.content.decode()


def test_a_channel_filter_narrows_summaries_table_and_number_fees(owner_client, workspace, month):
    uk = get(owner_client, workspace, **NOV, channel=month.uk.pk)
    assert shown_ids(uk) == ["nov-10-uk"]
    summary = uk.context["summary"]
    assert (summary.messages, summary.segments) == (1, 3)
    assert (summary.message_cost, summary.carrier_fees, summary.number_fees) == (D("0.023700"), D("0.003"), D("0"))
    assert summary.total == D("0.026700")

    us = get(owner_client, workspace, **NOV, channel=month.us.pk).context["summary"]
    assert (us.messages, us.number_fees, us.total) == (3, D("1.150000"), D("1.199700"))


def test_the_default_range_is_the_last_30_days_in_the_workspace_time_zone(owner_client, workspace, month):
    # 02:00 UTC on 1 Dec is still 30 Nov in New York.
    with time_machine.travel(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), tick=False):
        response = get(owner_client, workspace)
    filters = response.context["filters"]
    assert (filters.start.isoformat(), filters.end.isoformat()) == ("2026-11-01", "2026-11-30")
    assert response.context["filter_errors"] == []
    assert response.context["summary"].messages == 4
    assert len(response.context["summary"].days) == 30


def test_the_table_is_paginated_newest_first_and_pages_keep_the_filters(owner_client, workspace, month):
    for n in range(55):
        UsageRecordFactory(channel=month.uk, occurred_at=datetime(2026, 11, 20, 12, n, tzinfo=UTC), message_id=f"p{n}")
    rollups_rebuild()

    first = get(owner_client, workspace, **NOV, channel=month.uk.pk)
    assert first.context["records"].paginator.num_pages == 2
    assert shown_ids(first)[:2] == ["p54", "p53"]
    assert first.context["next_query"] == f"start=2026-11-01&end=2026-11-30&channel={month.uk.pk}&page=2"

    second = get(owner_client, workspace, **NOV, channel=month.uk.pk, page=2)
    assert shown_ids(second) == ["p4", "p3", "p2", "p1", "p0", "nov-10-uk"]
    assert second.context["prev_query"] == f"start=2026-11-01&end=2026-11-30&channel={month.uk.pk}"


def test_runway_uses_the_last_7_days_average_spend(owner_client, workspace, month):
    sms = wallet_of(workspace, "sms")
    # Within 7 days of "now": a US$7 charge, so US$1 a day; the balance is 13.7627.
    with time_machine.travel(datetime(2026, 11, 28, 12, tzinfo=UTC), tick=False):
        fund(sms, "-7.00", key="spend", kind="message_charge")
    with time_machine.travel(datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False):
        response = get(owner_client, workspace)
    runway = response.context["runway"]
    assert runway.daily_average == D("1")
    assert runway.days_left == 6  # 6.7627 left at US$1.00 a day
    assert "About <strong>6 days</strong> left at the last 7 days' average spend" in response.content.decode()


def test_no_runway_without_recent_spend(owner_client, owner, workspace, month):
    # The last charge was at 04:59 UTC on 1 Dec: more than 7 days before.
    with time_machine.travel(datetime(2026, 12, 9, 12, tzinfo=UTC), tick=False):
        owner_client.force_login(owner)
        response = get(owner_client, workspace)
    assert response.context["runway"] is None
    assert b"days left" not in response.content


def test_the_page_explains_what_the_balance_pays_for_and_lists_the_numbers(owner_client, workspace, month):
    html = get(owner_client, workspace).content.decode()
    assert "What your balance pays for" in html
    assert "all SMS and MMS stop" in html
    assert "+14155550100" in html and "US$1.15" in html
    assert 'href="#top-up"' in html and 'id="top-up"' in html


# --- bad input: a clear message on the page, never a 500, never another workspace's data


def test_a_range_longer_than_a_year_is_cut_to_one_year_with_a_message(owner_client, workspace, month):
    response = get(owner_client, workspace, start="2025-01-01", end="2026-11-30")
    assert response.status_code == 200
    filters = response.context["filters"]
    assert (filters.start.isoformat(), filters.end.isoformat()) == ("2025-11-30", "2026-11-30")
    assert "at most one year" in response.content.decode()
    assert response.context["summary"].messages == 5  # October's message is now in range


def test_exactly_one_year_is_allowed(owner_client, workspace, month):
    response = get(owner_client, workspace, start="2025-11-30", end="2026-11-30")
    assert response.context["filter_errors"] == []


def test_an_end_before_the_start_shows_a_message_and_the_default_range(owner_client, workspace, month):
    with time_machine.travel(datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False):
        response = get(owner_client, workspace, start="2026-11-20", end="2026-11-01")
    assert response.status_code == 200
    assert "is before the start date" in response.content.decode()
    assert response.context["filters"].start.isoformat() == "2026-11-01"


@pytest.mark.parametrize(
    "params", [{"start": "2026-13-45"}, {"end": "yesterday"}, {"start": "01/11/2026", "end": "2026-11-30"}]
)
def test_unparseable_dates_show_a_message(owner_client, workspace, month, params):
    response = get(owner_client, workspace, **params)
    assert response.status_code == 200
    errors = response.context["filter_errors"]
    assert any("is not a valid" in e and "YYYY-MM-DD" in e for e in errors)
    assert "Showing the last 30 days instead." in errors


@pytest.mark.parametrize("which", ["foreign", "whatsapp", "nonsense", "missing"])
def test_a_channel_that_is_not_this_wallets_shows_all_channels_and_no_foreign_data(
    owner_client, workspace, month, which
):
    channel = {"foreign": month.foreign.pk, "whatsapp": month.whatsapp.pk, "nonsense": "1;DROP", "missing": 99999}
    response = get(owner_client, workspace, **NOV, channel=channel[which])
    assert response.status_code == 200
    assert (
        "That channel is not one of this wallet's channels. Showing all channels." in response.context["filter_errors"]
    )
    assert "That channel is not one of this wallet&#x27;s channels" in response.content.decode()
    assert response.context["filters"].channel is None
    assert sorted(shown_ids(response)) == sorted(r.message_id for r in month.in_range)
    assert b"Globex line" not in response.content and b"globex-1" not in response.content


@pytest.mark.parametrize(("page", "message"), [("999", "There is no page 999"), ("abc", "is not a page number")])
def test_a_page_out_of_range_shows_a_message(owner_client, workspace, month, page, message):
    response = get(owner_client, workspace, **NOV, page=page)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["records"].number == 1


def test_filters_parse_never_raises_on_garbage(workspace, month):
    wallet = wallet_of(workspace, "sms")
    filters = usage_filters_parse(
        wallet=wallet, params={"start": "\x00", "end": "9999-99-99", "channel": "-1", "page": "0"}
    )
    assert len(filters.errors) == 4


# --- performance shape


def queries_for(client, workspace) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert get(client, workspace, **NOV).status_code == 200
    return len(captured)


def test_query_count_is_bounded_and_independent_of_row_count(
    owner_client, workspace, month, django_assert_max_num_queries
):
    # 15: the page's 12, the balance alerts card, the top-up history and the statement months.
    with django_assert_max_num_queries(15):
        get(owner_client, workspace, **NOV)
    few = queries_for(owner_client, workspace)
    for n in range(120):
        UsageRecordFactory(channel=month.us, occurred_at=datetime(2026, 11, 1 + n % 28, 12, tzinfo=UTC))
    PhoneNumberFactory(channel=month.us)
    rollups_rebuild()
    assert queries_for(owner_client, workspace) == few


def test_summaries_read_rollups_not_records(owner_client, workspace, month):
    # Doubling the rollups without touching the records doubles the summaries: they come from rollups.
    for rollup in DailyUsageRollup.objects.filter(wallet=wallet_of(workspace, "sms")):
        rollup.messages *= 2
        rollup.save()
    assert get(owner_client, workspace, **NOV).context["summary"].messages == 8
