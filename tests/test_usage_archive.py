"""`archive_usage`: raw usage older than 25 months goes to one gzipped CSV per month and
then out of the database; the ledger, the rollups and everything younger stay."""

import csv
import gzip
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.factories import ChannelFactory, UsageRecordFactory
from usage.models import UsageRecord
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 11, 23, 12, tzinfo=UTC)  # 25 months back: 2024-10-01


@pytest.fixture
def records(workspace):
    channel = ChannelFactory(workspace=workspace, kind="sms")
    when = {
        "2024-08": [datetime(2024, 8, 1, 0, 0, tzinfo=UTC), datetime(2024, 8, 31, 23, 59, 59, tzinfo=UTC)],
        "2024-09": [datetime(2024, 9, 15, 8, tzinfo=UTC)],
        "2024-10": [datetime(2024, 10, 1, 0, 0, tzinfo=UTC)],  # first kept month
        "2026-11": [datetime(2026, 11, 20, tzinfo=UTC)],
    }
    return {
        month: [
            UsageRecordFactory(channel=channel, occurred_at=at, message_id=f"{month}-{n}") for n, at in enumerate(ats)
        ]
        for month, ats in when.items()
    }


def archive(*args):
    out = StringIO()
    with time_machine.travel(TODAY, tick=False):
        call_command("archive_usage", *args, stdout=out)
    return out.getvalue()


def read(path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_records_past_25_months_are_archived_month_by_month_then_deleted(records, tmp_path):
    output = archive("--to", str(tmp_path))

    assert output.splitlines() == [
        f"2024-08: archived and deleted 2 records -> {tmp_path}/usage-2024-08.csv.gz",
        f"2024-09: archived and deleted 1 records -> {tmp_path}/usage-2024-09.csv.gz",
    ]
    august = read(tmp_path / "usage-2024-08.csv.gz")
    assert [row["message_id"] for row in august] == ["2024-08-0", "2024-08-1"]
    assert august[0]["total"] == str(records["2024-08"][0].total)
    assert august[0]["occurred_at"] == "2024-08-01 00:00:00+00:00"
    assert {row["id"] for row in read(tmp_path / "usage-2024-09.csv.gz")} == {str(records["2024-09"][0].pk)}
    assert sorted(UsageRecord.objects.values_list("message_id", flat=True)) == ["2024-10-0", "2026-11-0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage-2024-08.csv.gz", "usage-2024-09.csv.gz"]
    assert not ledger_verify().problems
    assert archive("--to", str(tmp_path)) == "Nothing older than the retention period.\n"


def test_a_dry_run_writes_and_deletes_nothing(records, tmp_path):
    assert "2024-08: would archive 2 records" in archive("--to", str(tmp_path), "--dry-run")
    assert UsageRecord.objects.count() == 5
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ("2024-11-01", "kept online for 25 months: --before may be 2024-10-01 at the latest"),
        ("2024-09-15", "must be the first day of a month"),
    ],
)
def test_a_cutoff_inside_the_retention_period_or_mid_month_is_refused(records, tmp_path, before, message):
    with pytest.raises(CommandError, match=message):
        archive("--to", str(tmp_path), "--before", before)
    assert UsageRecord.objects.count() == 5


def test_an_existing_archive_file_is_never_overwritten_and_its_month_stays(records, tmp_path):
    (tmp_path / "usage-2024-08.csv.gz").write_bytes(b"earlier archive")
    with pytest.raises(CommandError, match="exists already"):
        archive("--to", str(tmp_path))
    assert (tmp_path / "usage-2024-08.csv.gz").read_bytes() == b"earlier archive"
    assert UsageRecord.objects.count() == 5
