from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, demo_seed, demo_walkthrough


class Command(BaseCommand):
    help = "Create (or refresh, idempotently) the demo workspaces, users, channels and wallet history."

    def handle(self, *args, **options) -> None:
        logins = demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):"))
        for username, description in logins:
            self.stdout.write(f"  {username:<16} {description}")
        self.stdout.write("")
        for line in demo_walkthrough():
            self.stdout.write(line)
