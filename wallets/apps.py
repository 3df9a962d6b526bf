from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wallets import defaults  # noqa: F401  (registers the system check of the top-up bounds)
