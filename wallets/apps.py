from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the <wallet_kind:...> path converter before any URLconf is read.
        from wallets import converters  # noqa: F401
