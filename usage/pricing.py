"""Which price applies: the price list version in force at a moment, and lookups in it."""

from datetime import datetime
from decimal import Decimal

from usage.models import NumberPrice, PriceList


class NoPriceList(Exception):
    """No price list was in force at that moment."""


class NoPrice(Exception):
    """The price list in force names no price (nor a default) for that."""


def price_list_in_force(*, at: datetime) -> PriceList:
    price_list = PriceList.objects.filter(effective_from__lte=at).order_by("-effective_from").first()
    if price_list is None:
        raise NoPriceList(f"No price list in force at {at.isoformat()}.")
    return price_list


def number_monthly_fee(*, country: str, at: datetime) -> Decimal:
    """The monthly fee of a number in `country`, from the price list in force at `at`
    (the country's own price, else the list's default)."""
    price_list = price_list_in_force(at=at)
    prices = dict(
        NumberPrice.objects.filter(price_list=price_list, country__in=[country, ""]).values_list(
            "country", "monthly_fee"
        )
    )
    if country in prices:
        return prices[country]
    if "" in prices:
        return prices[""]
    raise NoPrice(f"Price list {price_list} has no number fee for {country!r} and no default.")
