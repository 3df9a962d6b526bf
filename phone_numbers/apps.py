from django.apps import AppConfig


class PhoneNumbersConfig(AppConfig):
    name = "phone_numbers"
    verbose_name = "Phone numbers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phone_numbers import receivers  # noqa: F401  (connects the signal receivers)
