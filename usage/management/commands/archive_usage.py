"""Archive raw usage past its 25 months online, then delete it (usage.archive)."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from usage.archive import RETENTION_MONTHS, ArchiveRefused, months_before, usage_archive


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            type=date.fromisoformat,
            help=f"first day of the oldest month to keep (default: {RETENTION_MONTHS} months before this month)",
        )
        parser.add_argument("--to", type=Path, required=True, help="folder for the usage-YYYY-MM.csv.gz files")
        parser.add_argument("--dry-run", action="store_true", help="say what would be archived; write nothing")

    def handle(self, *args, before: date | None, to: Path, dry_run: bool, **options) -> None:
        today = timezone.now().date()
        try:
            done = usage_archive(
                before=before or months_before(today, RETENTION_MONTHS), to=to, today=today, dry_run=dry_run
            )
        except ArchiveRefused as refused:
            raise CommandError(str(refused)) from None
        verb = "would archive" if dry_run else "archived and deleted"
        for month in done:
            self.stdout.write(f"{month.month:%Y-%m}: {verb} {month.rows} records -> {month.path}")
        if not done:
            self.stdout.write("Nothing older than the retention period.")
