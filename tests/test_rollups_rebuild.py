from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import ChannelFactory, UsageRecordFactory, WorkspaceFactory
from usage.models import DailyUsageRollup
from usage.rollups import rollups_rebuild

pytestmark = pytest.mark.django_db


def test_rebuild_groups_records_by_local_day_in_the_workspace_time_zone():
    workspace = WorkspaceFactory(timezone="Asia/Hong_Kong")  # UTC+8
    channel = ChannelFactory(workspace=workspace)
    # 15:59 UTC is 23:59 in Hong Kong on the 1st; 16:01 UTC is already the 2nd there.
    UsageRecordFactory(channel=channel, occurred_at=datetime(2026, 11, 1, 15, 59, tzinfo=UTC), segments=2)
    UsageRecordFactory(channel=channel, occurred_at=datetime(2026, 11, 1, 16, 1, tzinfo=UTC))
    UsageRecordFactory(channel=channel, occurred_at=datetime(2026, 11, 1, 16, 2, tzinfo=UTC), status="failed")

    assert rollups_rebuild() == 3

    rows = {
        (str(r.day), r.status): (r.messages, r.segments, r.cost, r.total)
        for r in DailyUsageRollup.objects.filter(channel=channel)
    }
    assert rows == {
        ("2026-11-01", "delivered"): (1, 2, Decimal("0.015800"), Decimal("0.018800")),
        ("2026-11-02", "delivered"): (1, 1, Decimal("0.007900"), Decimal("0.010900")),
        ("2026-11-02", "failed"): (1, 1, Decimal("0.007900"), Decimal("0.010900")),
    }


def test_rebuild_twice_gives_the_same_rows():
    UsageRecordFactory.create_batch(5)
    rollups_rebuild()
    first = list(DailyUsageRollup.objects.values_list("day", "messages", "total").order_by("id"))
    rollups_rebuild()
    assert list(DailyUsageRollup.objects.values_list("day", "messages", "total").order_by("id")) == first
