from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The system check of the top-up bounds, and the <wallet_kind:...> path converter
        # (registered before any URLconf is read).
        from wallets import converters, defaults  # noqa: F401
