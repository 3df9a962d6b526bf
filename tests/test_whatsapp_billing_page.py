"""The WhatsApp billing page: balance, all-time totals, WhatsApp usage by category (paid and free), top-up method."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ChannelFactory, UsageRecordFactory, fund, usage_charge, wallet_of
from tests.usage_data import whatsapp_meta_month
from usage.models import Channel
from usage.rollups import rollups_rebuild
from wallets.models import AutoTopUpRule

pytestmark = pytest.mark.django_db
D = Decimal
NOV = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def conversations(workspace):
    cloud = ChannelFactory(workspace=workspace, kind=Channel.Kind.WHATSAPP_CLOUD, display_name="Cloud")
    twilio = ChannelFactory(workspace=workspace, kind=Channel.Kind.WHATSAPP_TWILIO, display_name="Twilio")
    wallet = wallet_of(workspace, "whatsapp")
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False):
        fund(wallet, "50.00", key="topup-1", kind="top_up")
        fund(wallet, "25.00", key="topup-2", kind="auto_top_up")
    specs = [
        (cloud, "marketing", "0.025000", datetime(2026, 11, 2, 9, tzinfo=UTC)),
        (cloud, "marketing", "0.025000", datetime(2026, 11, 3, 9, tzinfo=UTC)),
        (cloud, "utility", "0.004000", datetime(2026, 11, 4, 9, tzinfo=UTC)),
        (twilio, "authentication", "0.013500", datetime(2026, 11, 5, 9, tzinfo=UTC)),
        (twilio, "marketing", "0.025000", datetime(2026, 10, 5, 9, tzinfo=UTC)),  # out of range
    ]
    for channel, category, price, when in specs:
        record = UsageRecordFactory(
            channel=channel, category=category, unit_price=D(price), carrier_fee=D("0"), occurred_at=when
        )
        with time_machine.travel(when, tick=False):
            usage_charge(record)
    rollups_rebuild()
    return {"cloud": cloud, "twilio": twilio}


def get(client, workspace, **params):
    return client.get(reverse("whatsapp_billing", args=[workspace.slug]), params)


def test_the_page_shows_balance_all_time_usage_and_all_time_top_up(owner_client, workspace, conversations):
    response = get(owner_client, workspace, **NOV)
    assert response.status_code == 200
    assert response.context["totals"].all_time_usage == D("0.092500")
    assert response.context["totals"].all_time_top_up == D("75.000000")
    html = response.content.decode()
    assert 'data-balance="74.907500"' in html and "US$74.91" in html
    assert 'data-total="usage">US$0.09<' in html
    assert 'data-total="top_up">US$75.00<' in html


def test_usage_is_grouped_by_category_and_follows_the_filters(owner_client, workspace, conversations):
    all_channels = get(owner_client, workspace, **NOV).context["categories"]
    assert [(c.label, c.messages, c.total) for c in all_channels] == [
        ("Marketing", 2, D("0.050000")),
        ("Authentication", 1, D("0.013500")),
        ("Utility", 1, D("0.004000")),
    ]
    twilio = get(owner_client, workspace, **NOV, channel=conversations["twilio"].pk)
    assert [(c.label, c.messages) for c in twilio.context["categories"]] == [("Authentication", 1)]
    assert twilio.context["summary"].total == D("0.013500")


def test_an_sms_channel_is_refused_on_the_whatsapp_page(owner_client, workspace, conversations):
    sms = ChannelFactory(workspace=workspace, display_name="SMS line")
    response = get(owner_client, workspace, **NOV, channel=sms.pk)
    assert response.status_code == 200
    assert response.context["filters"].channel is None
    assert (
        "That channel is not one of this wallet's channels. Showing all channels." in response.context["filter_errors"]
    )


def test_the_top_up_method_section_recommends_auto_top_up_and_shows_the_rule(owner_client, workspace, conversations):
    html = get(owner_client, workspace).content.decode()
    assert "Auto top-up" in html and "Recommended" in html and "US$20, US$50, US$100" in html
    assert 'data-auto-top-up="off"' in html
    assert "US$20 to US$2,000" in html

    AutoTopUpRule.objects.create(
        wallet=wallet_of(workspace, "whatsapp"), enabled=True, threshold=D("50"), amount=D("100")
    )
    html = get(owner_client, workspace).content.decode()
    assert "On: adds US$100.00 when the balance falls below US$50.00." in html


def test_an_empty_range_tells_the_admin_what_to_do(owner_client, workspace):
    html = get(owner_client, workspace, start="2020-01-01", end="2020-01-31").content.decode()
    assert "No WhatsApp messages in this range." in html
    assert "No spend in this range." in html
    assert "No messages in this range" in html


def test_query_count_is_bounded(owner_client, workspace, conversations, django_assert_max_num_queries):
    # 15: the page's 12, the balance alerts card, the top-up history and the statement months.
    with django_assert_max_num_queries(15):
        assert get(owner_client, workspace, **NOV).status_code == 200


@pytest.fixture
def meta_usage(workspace):
    return whatsapp_meta_month(workspace)


def test_the_usage_table_counts_paid_and_free_messages_per_category_with_their_reasons(
    owner_client, workspace, meta_usage
):
    response = get(owner_client, workspace, **NOV)

    rows = {c.label: (c.paid_messages, c.free, c.total) for c in response.context["categories"]}
    assert rows == {
        "Marketing": (2, {"free_entry_point": 1, "failed": 1}, D("0.105800")),
        "Authentication": (1, {}, D("0.035800")),
        "Service": (0, {"free_entry_point": 1}, D("0")),  # all free, and still shown
    }
    html = response.content.decode()
    assert "WhatsApp usage" in html and "All-time usage" in html and "All-time top-up" in html
    assert '<tr data-category="Service"><td>Service</td><td class="num" data-count="paid">0</td>' in html
    assert '<td class="num" data-count="free_entry_point">1</td>' in html
    assert html.count('data-free-reason="free_entry_point"') == 2
    assert html.count('data-free-reason="failed"') == 1
    assert "Per-message WhatsApp pricing, window messages charged (ILLUSTRATIVE)" in html
    assert "US$0.0529" in html  # the GB marketing rate, as the rate card states it
    assert "US$0.14 · 6 messages, 3 free" in html  # the chart's bar for 10 Nov
