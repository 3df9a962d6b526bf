"""Dates at the ends of what a date can be (0001-01-01, 9999-12-31) on both wallet pages and
the usage CSV: refused with the filter message before any byte of a file, never a 500."""

from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError
from django.urls import reverse

from usage.exports import HEADER
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

PAGES = {"sms": "sms_wallet", "whatsapp": "whatsapp_billing"}


def _outside(name: str, day: str) -> str:
    return f"The {name} date {day} is outside the dates this page covers (2000-01-01 to 2099-12-31)."


EXTREMES = [
    ({"start": "0001-01-01"}, _outside("start", "0001-01-01")),
    ({"end": "9999-12-31"}, _outside("end", "9999-12-31")),
    ({"start": "0001-01-01", "end": "0001-01-02"}, _outside("start", "0001-01-01")),
    ({"start": "9999-12-30", "end": "9999-12-31"}, _outside("start", "9999-12-30")),
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 11, 30, 12, tzinfo=UTC), tick=False):
        yield


@pytest.mark.parametrize("kind", PAGES)
@pytest.mark.parametrize(("params", "message"), EXTREMES)
def test_an_extreme_date_on_a_wallet_page_shows_the_filter_message_and_the_default_range(
    owner_client, workspace, kind, params, message
):
    response = owner_client.get(reverse(PAGES[kind], args=[workspace.slug]), params)

    assert response.status_code == 200
    errors = response.context["filter_errors"]
    assert message in errors and "Showing the last 30 days instead." in errors
    assert message in response.content.decode()
    filters = response.context["filters"]
    assert (filters.start.isoformat(), filters.end.isoformat()) == ("2026-11-01", "2026-11-30")
    assert WalletTransaction.objects.count() == 0


@pytest.mark.parametrize("kind", PAGES)
@pytest.mark.parametrize(("params", "message"), EXTREMES)
def test_an_extreme_date_on_the_csv_sends_no_file_but_the_page_with_the_message(
    owner_client, workspace, kind, params, message
):
    response = owner_client.get(reverse("usage_export", args=[workspace.slug, kind]), params)

    assert response.status_code == 302
    assert not response.streaming
    page = owner_client.get(response.url)
    assert page.status_code == 200
    assert message in page.context["filter_errors"]


def test_a_csv_whose_query_fails_mid_file_does_not_end_as_a_complete_download(owner_client, workspace):
    """The error leaves the stream (the server then ends the response without its last chunk),
    instead of being swallowed into a short file that reads like an empty statement."""

    def failing_lines(**kwargs):
        yield ",".join(HEADER).encode() + b"\r\n"
        raise OperationalError("server closed the connection unexpectedly")

    with mock.patch("portal.views.usage_csv_lines", failing_lines):
        response = owner_client.get(reverse("usage_export", args=[workspace.slug, "sms"]))
        pieces = iter(response.streaming_content)
        assert next(pieces).startswith(b"row_type,")
        with pytest.raises(OperationalError):
            next(pieces)


def test_a_csv_of_the_supported_range_is_complete(owner_client, workspace):
    response = owner_client.get(
        reverse("usage_export", args=[workspace.slug, "sms"]), {"start": "2026-01-01", "end": "2026-11-30"}
    )

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body == ",".join(HEADER) + "\r\n"  # no usage in this workspace: the header, whole
