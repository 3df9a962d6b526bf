from datetime import UTC, datetime
from decimal import Decimal

import pytest

from usage.models import NumberPrice, PriceList
from usage.pricing import NoPrice, NoPriceList, number_monthly_fee, price_list_in_force

pytestmark = pytest.mark.django_db

JULY = datetime(2026, 7, 1, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def two_versions():
    july = PriceList.objects.create(name="July", effective_from=JULY)
    october = PriceList.objects.create(name="October", effective_from=OCTOBER)
    NumberPrice.objects.create(price_list=july, country="US", monthly_fee=Decimal("1.00"))
    NumberPrice.objects.create(price_list=july, country="", monthly_fee=Decimal("3.00"))
    NumberPrice.objects.create(price_list=october, country="US", monthly_fee=Decimal("1.15"))
    return july, october


def test_the_version_in_force_is_the_latest_that_started_before_the_moment(two_versions):
    july, october = two_versions
    assert price_list_in_force(at=datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC)) == july
    assert price_list_in_force(at=OCTOBER) == october


def test_nothing_is_in_force_before_the_first_version(two_versions):
    with pytest.raises(NoPriceList):
        price_list_in_force(at=datetime(2026, 6, 30, tzinfo=UTC))


def test_number_fee_uses_the_country_price_then_the_default(two_versions):
    assert number_monthly_fee(country="US", at=JULY) == Decimal("1.000000")
    assert number_monthly_fee(country="GB", at=JULY) == Decimal("3.000000")
    assert number_monthly_fee(country="US", at=OCTOBER) == Decimal("1.150000")
    with pytest.raises(NoPrice):
        number_monthly_fee(country="GB", at=OCTOBER)
