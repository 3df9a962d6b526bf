"""Which price applies: the price list version in force at a moment, and lookups in it."""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from usage.models import CarrierFee, NumberPrice, Price, PriceList, UsageRecord
from wallets.money import ZERO, quantize


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


@dataclass(frozen=True)
class Quote:
    """The price of one message: `cost` is unit_price x billed units, `total` adds the carrier fee."""

    unit_price: Decimal
    segments: int
    cost: Decimal
    carrier_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.cost + self.carrier_fee


def channel_family(message_type: str) -> str:
    return Price.ChannelFamily.WHATSAPP if message_type == UsageRecord.MessageType.WHATSAPP else Price.ChannelFamily.SMS


class PriceBook:
    """Every price a batch can need, read in three queries, then looked up in memory.

    Ingest prices up to 1,000 events at a time; a query per event would dominate.
    """

    def __init__(
        self,
        versions: list[tuple[datetime, int, str, bool]],
        prices: dict[tuple, Decimal],
        carrier_fees: dict[tuple, Decimal],
    ) -> None:
        self._starts = [start for start, *_ in versions]
        self._versions = versions
        self._prices = prices
        self._carrier_fees = carrier_fees

    @classmethod
    def load(cls, *, countries: Iterable[str]) -> "PriceBook":
        countries = {*countries, ""}
        versions = list(
            PriceList.objects.order_by("effective_from").values_list(
                "effective_from", "id", "name", "bill_failed_messages"
            )
        )
        list_ids = [version[1] for version in versions]
        prices = {
            (row[0], row[1], row[2], row[3], row[4], row[5]): row[6]
            for row in Price.objects.filter(price_list_id__in=list_ids, country__in=countries).values_list(
                "price_list_id", "channel_family", "message_type", "category", "direction", "country", "unit_price"
            )
        }
        carrier_fees = {
            (row[0], row[1], row[2], row[3]): row[4]
            for row in CarrierFee.objects.filter(price_list_id__in=list_ids, country__in=countries).values_list(
                "price_list_id", "message_type", "direction", "country", "amount"
            )
        }
        return cls(versions, prices, carrier_fees)

    def _version_at(self, at: datetime) -> tuple[datetime, int, str, bool]:
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            raise NoPriceList(f"No price list in force at {at.isoformat()}.")
        return self._versions[index]

    def price_list_at(self, at: datetime) -> int:
        """The id of the price list in force at `at`: quotes for the same message at two
        moments are equal when this is."""
        return self._version_at(at)[1]

    def quote(
        self,
        *,
        at: datetime,
        message_type: str,
        category: str,
        direction: str,
        country: str,
        segments: int,
        status: str = UsageRecord.Status.DELIVERED,
    ) -> Quote:
        """SMS is priced per segment, MMS and WhatsApp per message; carrier fees likewise.

        A failed message costs nothing when its price list says failed messages are
        not billed; its unit price is still recorded, so the record shows what was waived.
        """
        _, list_id, list_name, bill_failed = self._version_at(at)
        family = channel_family(message_type)
        unit_price = self._prices.get((list_id, family, message_type, category, direction, country))
        if unit_price is None:
            unit_price = self._prices.get((list_id, family, message_type, category, direction, ""))
        if unit_price is None:
            what = " ".join(part for part in (message_type, category, direction) if part)
            raise NoPrice(f"Price list {list_name!r} has no price for {what} in {country!r} and no default.")
        fee = self._carrier_fees.get((list_id, message_type, direction, country))
        if fee is None:
            fee = self._carrier_fees.get((list_id, message_type, direction, ""), ZERO)
        units = segments if message_type == UsageRecord.MessageType.SMS else 1
        if status == UsageRecord.Status.FAILED and not bill_failed:
            return Quote(unit_price=unit_price, segments=units, cost=ZERO, carrier_fee=ZERO)
        return Quote(
            unit_price=unit_price, segments=units, cost=quantize(unit_price * units), carrier_fee=quantize(fee * units)
        )
