from datetime import date

from django.core.management.base import BaseCommand, CommandError

from phone_numbers.services import number_fees_bill


class Command(BaseCommand):
    help = (
        "Bill due monthly number fees and release numbers whose release day has come (what the hourly "
        "Celery beat task does). --date bills as of that day in every workspace; --dry-run writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="Bill what is due on or before this day (YYYY-MM-DD); default today.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would happen; write nothing.")

    def handle(self, *args, **options) -> None:
        on = None
        if options["date"]:
            try:
                on = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}.") from exc
        events = number_fees_bill(on=on, dry_run=options["dry_run"])
        prefix = "[dry run] would: " if options["dry_run"] else ""
        for event in events:
            self.stdout.write(f"{prefix}{event}")
        summary = f"{len(events)} event(s)" + (" (dry run: nothing written)" if options["dry_run"] else "")
        self.stdout.write(self.style.SUCCESS(summary))
