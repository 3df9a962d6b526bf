"""Form fields shared by every app's forms."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from wallets.money import DECIMAL_PLACES, MoneyInvalid, money_parse


class MoneyField(forms.CharField):
    """An amount typed by a person, read by wallets.money.money_parse (the one money parser).

    Takes `max_digits`/`decimal_places` too, so that a model DecimalField's formfield (the
    admin's price fields, through formfield_overrides) keeps its own places.
    """

    def __init__(
        self,
        *,
        places: int | None = None,
        allow_negative: bool = False,
        max_digits: int | None = None,
        decimal_places: int | None = None,
        **kwargs,
    ) -> None:
        kwargs.pop("max_value", None)
        kwargs.pop("min_value", None)
        kwargs.pop("step_size", None)
        kwargs.setdefault("error_messages", {}).setdefault("required", "Enter an amount.")
        super().__init__(**kwargs)
        self.places = places if places is not None else (decimal_places if decimal_places is not None else 2)
        self.places = min(self.places, DECIMAL_PLACES)
        self.allow_negative = allow_negative

    def to_python(self, value: object) -> Decimal | None:
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return money_parse(text, places=self.places, allow_negative=self.allow_negative)
        except MoneyInvalid as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def prepare_value(self, value: object) -> object:
        return f"{value:f}" if isinstance(value, Decimal) else value


# For a ModelAdmin's formfield_overrides: the admin's money columns are typed through MoneyField
# too, with the column's own decimal places (6 for prices).
MONEY_FORMFIELD_OVERRIDES = {models.DecimalField: {"form_class": MoneyField}}
