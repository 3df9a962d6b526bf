from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Alerts and webhooks"

    def ready(self) -> None:
        from alerts import receivers  # noqa: F401  (connects the signal receivers)
