"""One month of SMS usage in a New York workspace, with exact figures the page tests check.

Range used by the tests: 1 to 30 Nov 2026, New York days. In range: four messages on two
channels (one at 22:30 local on 1 Nov, i.e. 03:30 UTC on 2 Nov; one at 23:59 local on
30 Nov), a US$10 top-up and a US$1.15 number fee. Out of range: a message on 25 Oct,
a US$5 top-up on 20 Oct, the workspace's WhatsApp usage and another workspace's SMS usage.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import time_machine

from tests.factories import (
    ChannelFactory,
    PhoneNumberFactory,
    UsageRecordFactory,
    default_price_list,
    fund,
    usage_charge,
    wallet_of,
)
from usage.models import Channel, NumberFeeCharge, UsageRecord
from usage.rollups import rollups_rebuild
from usage.services import usage_ingest
from wallets.models import Workspace
from wallets.services import ledger_post

D = Decimal
NOV = {"start": "2026-11-01", "end": "2026-11-30"}


@dataclass
class SmsMonth:
    us: Channel
    uk: Channel
    whatsapp: Channel
    foreign: Channel
    in_range: list[UsageRecord]
    out_of_range: UsageRecord


def _at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def _record(channel: Channel, when: datetime, **fields) -> UsageRecord:
    record = UsageRecordFactory(channel=channel, occurred_at=when, **fields)
    with _at(when):
        usage_charge(record)
    return record


def sms_month(workspace: Workspace, other_workspace: Workspace) -> SmsMonth:
    workspace.timezone = "America/New_York"
    workspace.save()
    us = ChannelFactory(workspace=workspace, display_name="US line")
    us_number = PhoneNumberFactory(channel=us, number="+14155550100", monthly_fee=D("1.150000"))
    uk = ChannelFactory(workspace=workspace, display_name="UK line")
    PhoneNumberFactory(channel=uk, number="+447700900100", country="GB", monthly_fee=D("1.500000"))
    whatsapp = ChannelFactory(workspace=workspace, kind=Channel.Kind.WHATSAPP_CLOUD, display_name="WA")
    foreign = ChannelFactory(workspace=other_workspace, display_name="Globex line")
    sms = wallet_of(workspace, "sms")

    # In time order, as they would happen, so that each balance_after is the balance at that time.
    with _at(datetime(2026, 10, 20, 12, tzinfo=UTC)):
        fund(sms, "5.00", key="october-topup", kind="top_up")
    out_of_range = _record(us, datetime(2026, 10, 25, 12, tzinfo=UTC), message_id="oct-1")
    in_range = [
        _record(us, datetime(2026, 11, 1, 12, tzinfo=UTC), message_id="nov-1", segments=2),
        _record(
            us,
            datetime(2026, 11, 2, 3, 30, tzinfo=UTC),
            message_id="nov-1-late",
            message_type="mms",
            unit_price=D("0.020000"),
            carrier_fee=D("0"),
        ),
    ]
    with _at(datetime(2026, 11, 5, 12, tzinfo=UTC)):
        fund(sms, "10.00", key="november-topup", kind="top_up")
    in_range.append(
        _record(
            uk,
            datetime(2026, 11, 10, 15, tzinfo=UTC),
            message_id="nov-10-uk",
            segments=3,
            direction="inbound",
            status="failed",
        )
    )
    with _at(datetime(2026, 11, 15, 14, tzinfo=UTC)):
        posting = ledger_post(
            wallet_id=sms.id, kind="number_fee", amount=D("-1.150000"), idempotency_key="fee:us:2026-11-15"
        ).transaction
        NumberFeeCharge.objects.create(
            phone_number=us_number,
            period_start="2026-11-15",
            period_end="2026-12-14",
            amount=D("1.150000"),
            status="charged",
            posting=posting,
        )
    in_range.append(_record(us, datetime(2026, 12, 1, 4, 59, tzinfo=UTC), message_id="nov-30-late"))
    _record(whatsapp, datetime(2026, 11, 3, 12, tzinfo=UTC), message_id="wa-1", unit_price=D("0.025000"))
    _record(foreign, datetime(2026, 11, 3, 12, tzinfo=UTC), message_id="globex-1")
    rollups_rebuild()
    return SmsMonth(us=us, uk=uk, whatsapp=whatsapp, foreign=foreign, in_range=in_range, out_of_range=out_of_range)


def whatsapp_meta_month(workspace: Workspace) -> Channel:
    """WhatsApp usage as Meta reports it, through ingest, on 10 Nov 2026 (the shipped version
    of 2026-10-01) to GB: two paid marketing messages (0.0529 each), one in a free entry point
    window, one failed; one authentication (0.0358); one service message in an entry point window."""
    default_price_list()
    channel = ChannelFactory(workspace=workspace, kind=Channel.Kind.WHATSAPP_CLOUD, display_name="Cloud")
    fund(wallet_of(workspace, "whatsapp"), "20.00", key="fund-meta")

    def event(message_id: str, category: str, pricing_type: str = "regular", status: str = "delivered") -> dict:
        return {
            "id": message_id, "channel": channel.id, "type": "whatsapp", "direction": "outbound",
            "status": status, "country": "GB", "occurred_at": "2026-11-10T10:00:00Z",
            "pricing": {"pricing_model": "PMP", "category": category, "type": pricing_type},
        }  # fmt: skip

    usage_ingest(
        workspace=workspace,
        events=[
            event("mkt-1", "marketing"),
            event("mkt-2", "marketing"),
            event("mkt-entry", "marketing", "free_entry_point"),
            event("mkt-failed", "marketing", status="failed"),
            event("auth-1", "authentication"),
            event("svc-entry", "service", "free_entry_point"),
        ],
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )
    return channel
