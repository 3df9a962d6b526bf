"""Product numbers live in each app's defaults.py: settings override them, the environment
sets them through settings, and a system check refuses bounds the database would refuse."""

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks

from common import defaults as common_defaults
from finance import defaults as finance_defaults
from payments import defaults as payment_defaults
from phone_numbers import defaults as number_defaults
from usage import defaults as usage_defaults
from wallets import defaults as wallet_defaults

APP_DEFAULTS = (common_defaults, wallet_defaults, usage_defaults, number_defaults, payment_defaults, finance_defaults)


def test_each_name_is_defined_once_and_has_a_default_without_a_setting():
    names = [name for module in APP_DEFAULTS for name in module.DEFAULTS]
    assert len(names) == len(set(names))
    assert wallet_defaults.WHATSAPP_LOW_BALANCE == Decimal("20")
    assert wallet_defaults.SMS_LOW_BALANCE == Decimal("20")
    assert (wallet_defaults.TOP_UP_MIN, wallet_defaults.TOP_UP_MAX) == (Decimal("20"), Decimal("2000"))
    assert number_defaults.UNPAID_CYCLES_BEFORE_RELEASE == 2
    assert (payment_defaults.AUTO_TOP_UP_RETRY_AFTER, payment_defaults.AUTO_TOP_UP_MAX_PER_DAY) == (3600, 5)


def test_a_setting_overrides_its_default_when_read_not_at_import(settings):
    settings.UNPAID_CYCLES_BEFORE_RELEASE = 3
    settings.AUTO_TOP_UP_MAX_PER_DAY = 1

    assert number_defaults.UNPAID_CYCLES_BEFORE_RELEASE == 3
    assert payment_defaults.AUTO_TOP_UP_MAX_PER_DAY == 1


def test_every_rule_the_environment_may_set_is_a_named_default_of_that_type():
    defaults = {name: value for module in APP_DEFAULTS for name, value in module.DEFAULTS.items()}
    for name, kind in django_settings.PRODUCT_RULES_FROM_ENV.items():
        assert type(defaults[name]) is kind, name


def test_an_unknown_name_is_an_attribute_error_not_none():
    with pytest.raises(AttributeError, match="WHATSAPP_LOW_BALANCES"):
        wallet_defaults.WHATSAPP_LOW_BALANCES  # noqa: B018


def test_top_up_bounds_wider_than_the_database_allows_fail_the_system_check(settings):
    assert not [e for e in run_checks() if e.id == "wallets.E001"]
    settings.TOP_UP_MAX = Decimal("5000")

    (error,) = [e for e in run_checks() if e.id == "wallets.E001"]
    assert "20 <= TOP_UP_MIN <= TOP_UP_MAX <= 2000" in error.msg


def test_unpaid_cycles_below_one_fail_the_system_check(settings):
    settings.UNPAID_CYCLES_BEFORE_RELEASE = 0

    (error,) = [e for e in run_checks() if e.id == "phone_numbers.E001"]
    assert error.msg == "UNPAID_CYCLES_BEFORE_RELEASE=0 must be a whole number of at least 1."


def _settings_in_a_fresh_process(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from wallets import defaults; print(defaults.SMS_LOW_BALANCE, defaults.WHATSAPP_LOW_BALANCE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "billing_portal.settings", **env},
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )


def test_an_environment_variable_sets_its_rule_and_only_that_one():
    result = _settings_in_a_fresh_process(SMS_LOW_BALANCE="7.50")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7.50", "20"]


def test_an_environment_variable_that_is_not_a_number_stops_the_start_with_its_name():
    result = _settings_in_a_fresh_process(SMS_LOW_BALANCE="ten")

    assert result.returncode != 0
    assert "SMS_LOW_BALANCE='ten': expected an amount" in result.stderr
