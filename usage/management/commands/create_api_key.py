from django.core.management.base import BaseCommand, CommandError

from usage.services import api_key_create
from wallets.models import Workspace


class Command(BaseCommand):
    help = "Create an API key for a workspace and print it once (only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("workspace_slug")
        parser.add_argument("--name", default="Platform", help="A label to recognise the key by")
        parser.add_argument("--quiet", action="store_true", help="Print only the key (for scripts)")

    def handle(self, *args, workspace_slug: str, name: str, quiet: bool, **options) -> None:
        workspace = Workspace.objects.filter(slug=workspace_slug).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {workspace_slug!r}.")
        api_key, secret = api_key_create(workspace=workspace, name=name)
        if quiet:
            self.stdout.write(secret)
            return
        self.stdout.write(f"API key {api_key.name!r} for {workspace.name} (shown once, store it now):")
        self.stdout.write(secret)
