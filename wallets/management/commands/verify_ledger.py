from django.core.management.base import BaseCommand, CommandError

from wallets.selectors import ledger_verify


class Command(BaseCommand):
    help = "Prove for every wallet that balance == sum(ledger) and the balance_after chain is unbroken."

    def handle(self, *args, **options) -> None:
        report = ledger_verify()
        for problem in report.problems:
            self.stderr.write(self.style.ERROR(problem))
        summary = (
            f"{report.wallets_checked} wallets, {report.transactions_checked} ledger rows checked, "
            f"{len(report.problems)} problem(s)"
        )
        if report.problems:
            raise CommandError(f"Ledger verification FAILED: {summary}")
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {summary}"))
