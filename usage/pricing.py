"""Which price applies: the price list version in force at a moment, and lookups in it."""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from usage.models import CarrierFee, NumberPrice, Price, PriceList, UsageRecord
from wallets.money import ZERO, quantize


class NoPriceList(Exception):
    """No price list was in force at that moment."""


class NoPrice(Exception):
    """The price list in force names no price (nor a default) for that; `field` is the
    event field to blame (the country, or a category the version does not price at all)."""

    def __init__(self, message: str, *, field: str = "country") -> None:
        super().__init__(message)
        self.field = field


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


Family = Price.ChannelFamily
PricingType = UsageRecord.PricingType
FreeReason = UsageRecord.FreeReason


@dataclass(frozen=True)
class Quote:
    """The price of one message: `cost` is the charged unit price x billed units, `total` adds
    the carrier fee. `unit_price` is the list's; `reported_price`, when the platform gave one,
    is what it says Meta charged, and the version decides which of the two is charged.

    A volume-tiered rate is quoted at its first tier with `tiers` set; ingest then picks
    each message's tier from the month's running count (`at_tier`)."""

    unit_price: Decimal
    segments: int
    cost: Decimal
    carrier_fee: Decimal
    price_list_id: int | None = None
    pricing_model: str = ""
    pricing_type: str = ""
    tier: int | None = None
    free_reason: str = ""
    reported_price: Decimal | None = None
    market: str = ""
    tiers: tuple[tuple[int, Decimal], ...] = ()  # (first message of the month, unit price), ascending
    charge_reported: bool = False

    @property
    def total(self) -> Decimal:
        return self.cost + self.carrier_fee

    @property
    def is_tiered(self) -> bool:
        return len(self.tiers) > 1

    def tier_of(self, position: int) -> int:
        """The tier (1-based) of the month's `position`-th paid message of this category and market."""
        return bisect_right([start for start, _ in self.tiers], position)

    def at_tier(self, tier: int) -> "Quote":
        unit_price = self.tiers[tier - 1][1]
        return replace(self, unit_price=unit_price, tier=tier, cost=self._charged(unit_price))

    def _charged(self, unit_price: Decimal) -> Decimal:
        if self.charge_reported and self.reported_price is not None:
            return quantize(self.reported_price * self.segments)
        return quantize(unit_price * self.segments)


def channel_family(message_type: str) -> str:
    return Family.WHATSAPP if message_type == UsageRecord.MessageType.WHATSAPP else Family.SMS


class Version(NamedTuple):
    effective_from: datetime
    id: int
    name: str
    bill_failed: bool
    whatsapp_pricing_model: str
    whatsapp_bill_failed: bool
    whatsapp_charge_reported_price: bool
    whatsapp_authorize_covers_price: bool


VERSION_FIELDS = ("effective_from", "id", "name", "bill_failed_messages", *Version._fields[4:])


class PricingMismatch(Exception):
    """An event says Meta priced it under the other model than the version in force."""


class PriceBook:
    """Every price a batch can need, read in three queries, then looked up in memory.

    Ingest prices up to 1,000 events at a time; a query per event would dominate.
    """

    def __init__(
        self,
        versions: list[Version],
        prices: dict[tuple, list[tuple[int, Decimal]]],
        carrier_fees: dict[tuple, Decimal],
    ) -> None:
        self._starts = [version.effective_from for version in versions]
        self._versions = versions
        self._prices = prices
        self._carrier_fees = carrier_fees
        # (list, family, type, category, direction): the categories each version prices at all.
        self._priced = {key[:5] for key in prices}

    @classmethod
    def load(cls, *, countries: Iterable[str]) -> "PriceBook":
        countries = {*countries, ""}
        versions = [Version(*row) for row in PriceList.objects.order_by("effective_from").values_list(*VERSION_FIELDS)]
        list_ids = [version.id for version in versions]
        prices: dict[tuple, list[tuple[int, Decimal]]] = defaultdict(list)
        for *key, tier_start, unit_price in (
            Price.objects.filter(price_list_id__in=list_ids, country__in=countries)
            .order_by("tier_start")
            .values_list(
                "price_list_id", "channel_family", "message_type", "category", "direction", "pricing_type",
                "country", "tier_start", "unit_price",
            )
        ):  # fmt: skip
            prices[tuple(key)].append((tier_start, unit_price))
        carrier_fees = {
            (row[0], row[1], row[2], row[3]): row[4]
            for row in CarrierFee.objects.filter(price_list_id__in=list_ids, country__in=countries).values_list(
                "price_list_id", "message_type", "direction", "country", "amount"
            )
        }
        return cls(versions, dict(prices), carrier_fees)

    def version_at(self, at: datetime) -> Version:
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            raise NoPriceList(f"No price list in force at {at.isoformat()}.")
        return self._versions[index]

    def price_list_at(self, at: datetime) -> int:
        """The id of the price list in force at `at`: quotes for the same message at two
        moments are equal when this is."""
        return self.version_at(at).id

    def _rates(self, key: tuple, country: str) -> tuple[list[tuple[int, Decimal]] | None, str]:
        """The rate (its tiers) for `country`, else the default's; and the market it belongs to."""
        rates = self._prices.get((*key, country))
        if rates is not None:
            return rates, country
        return self._prices.get((*key, "")), ""

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
        pricing_type: str = PricingType.REGULAR,
        declared_model: str = "",
        reported_price: Decimal | None = None,
    ) -> Quote:
        """SMS is priced per segment, MMS and WhatsApp per message; carrier fees likewise.

        A failed message costs nothing when its price list says failed messages are not
        billed (for WhatsApp, by default: Meta charges delivered messages only); a WhatsApp
        message in a free window costs nothing unless the version prices that window. The
        unit price is still recorded, so the record shows what was waived.
        """
        version = self.version_at(at)
        family = channel_family(message_type)
        whatsapp = family == Family.WHATSAPP
        if whatsapp and declared_model and declared_model != version.whatsapp_pricing_model:
            raise PricingMismatch(
                f"Meta priced this message {UsageRecord.PricingModel(declared_model).label.lower()}, but price list "
                f"{version.name!r} in force at {at.isoformat()} prices "
                f"{UsageRecord.PricingModel(version.whatsapp_pricing_model).label.lower()}."
            )
        base = (version.id, family, message_type, category, direction)
        if whatsapp and category and base not in self._priced:
            raise NoPrice(
                f"Price list {version.name!r} does not price the WhatsApp category {category!r}.", field="category"
            )
        regular, market = self._rates((*base, PricingType.REGULAR), country)
        if regular is None:
            what = " ".join(part for part in (message_type, category, direction) if part)
            raise NoPrice(f"Price list {version.name!r} has no price for {what} in {country!r} and no default.")
        fee = self._carrier_fees.get((version.id, message_type, direction, country))
        if fee is None:
            fee = self._carrier_fees.get((version.id, message_type, direction, ""), ZERO)
        units = segments if message_type == UsageRecord.MessageType.SMS else 1
        quote = Quote(
            unit_price=regular[0][1],
            segments=units,
            cost=ZERO,
            carrier_fee=ZERO,
            price_list_id=version.id,
            pricing_model=version.whatsapp_pricing_model if whatsapp else "",
            pricing_type=pricing_type if whatsapp else "",
            tier=1 if whatsapp else None,
            reported_price=reported_price,
            market=market,
            charge_reported=whatsapp and version.whatsapp_charge_reported_price,
        )
        bill_failed = version.whatsapp_bill_failed if whatsapp else version.bill_failed
        if status == UsageRecord.Status.FAILED and not bill_failed:
            return replace(quote, free_reason=FreeReason.FAILED if whatsapp else "")
        if whatsapp and pricing_type != PricingType.REGULAR:
            window, _ = self._rates((*base, pricing_type), country)
            if window is None:
                return replace(quote, free_reason=pricing_type)
            # The version charges this window (a rule change): one flat rate, never tiered.
            rate = window[0][1]
            return replace(quote, unit_price=rate, cost=quote._charged(rate), carrier_fee=quantize(fee * units))
        quote = replace(quote, cost=quote._charged(quote.unit_price), carrier_fee=quantize(fee * units))
        return replace(quote, tiers=tuple(regular)) if whatsapp and len(regular) > 1 else quote
