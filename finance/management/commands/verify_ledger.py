from django.core.management.base import BaseCommand, CommandError

from finance.services import ledger_check_run


class Command(BaseCommand):
    help = "Prove for every wallet that balance == sum(ledger) and the balance_after chain is unbroken."

    def handle(self, *args, **options) -> None:
        check = ledger_check_run()  # recorded, so the finance dashboard shows the last run
        for problem in check.problems:
            self.stderr.write(self.style.ERROR(problem))
        summary = (
            f"{check.wallets_checked} wallets, {check.rows_checked} ledger rows checked, "
            f"{len(check.problems)} problem(s)"
        )
        if not check.ok:
            raise CommandError(f"Ledger verification FAILED: {summary}")
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {summary}"))
