from django.apps import AppConfig


class PhoneNumbersConfig(AppConfig):
    name = "phone_numbers"
    verbose_name = "Phone numbers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phone_numbers import defaults, receivers  # noqa: F401  (the rules' system check; the receivers)
