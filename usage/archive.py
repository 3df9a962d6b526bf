"""Raw usage past its retention: written to one gzipped CSV per month, then deleted.

The ledger and the daily rollups keep every total, so balances, `verify_ledger`, the
pages' summaries and the charts are unchanged; only per-message detail older than
RETENTION_MONTHS leaves the database, for the archive (object storage in production).
A month's rows are deleted only after its file is complete on disk and holds exactly
the rows to delete, so a crash at any point loses nothing and a rerun carries on.
"""

import csv
import gzip
import io
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from django.db import transaction

from usage.models import UsageRecord

RETENTION_MONTHS = 25
DELETE_BATCH = 5_000
COLUMNS = [field.attname for field in UsageRecord._meta.concrete_fields]


class ArchiveRefused(Exception):
    """The archive would break the retention policy or overwrite a file; nothing was done."""


@dataclass(frozen=True)
class MonthArchived:
    month: date
    path: Path
    rows: int


def months_before(today: date, months: int) -> date:
    """The first day of the month `months` before today's month."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def usage_archive(*, before: date, to: Path, today: date, dry_run: bool = False) -> list[MonthArchived]:
    """Archive and delete every usage record that occurred before `before` (a month's
    first day, UTC), month by month, oldest first."""
    if before.day != 1:
        raise ArchiveRefused(f"--before must be the first day of a month, not {before.isoformat()}.")
    kept_from = months_before(today, RETENTION_MONTHS)
    if before > kept_from:
        raise ArchiveRefused(
            f"Records are kept online for {RETENTION_MONTHS} months: "
            f"--before may be {kept_from.isoformat()} at the latest."
        )
    cutoff = datetime.combine(before, datetime.min.time(), tzinfo=UTC)
    months = UsageRecord.objects.filter(occurred_at__lt=cutoff).datetimes("occurred_at", "month", tzinfo=UTC)
    return [_month_archive(month=month.date(), to=to, dry_run=dry_run) for month in months]


def _month_archive(*, month: date, to: Path, dry_run: bool) -> MonthArchived:
    start = datetime.combine(month, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(months_before(month, -1), datetime.min.time(), tzinfo=UTC)
    records = UsageRecord.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by("id")
    path = to / f"usage-{month:%Y-%m}.csv.gz"
    if dry_run:
        return MonthArchived(month, path, records.count())
    if path.exists():
        raise ArchiveRefused(f"{path} exists already: move it away first; nothing of {month:%Y-%m} was deleted.")
    to.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    ids = []
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as zipped:
        text = io.TextIOWrapper(zipped, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        for row in records.values_list(*COLUMNS).iterator(chunk_size=DELETE_BATCH):
            writer.writerow(row)
            ids.append(row[0])
        text.flush()
        text.detach()
        zipped.close()
        raw.flush()
        os.fsync(raw.fileno())
    partial.rename(path)
    # Only the rows in the file, in batches: a record added to the month meanwhile stays.
    for first in range(0, len(ids), DELETE_BATCH):
        with transaction.atomic():
            UsageRecord.objects.filter(pk__in=ids[first : first + DELETE_BATCH]).delete()
    return MonthArchived(month, path, len(ids))
