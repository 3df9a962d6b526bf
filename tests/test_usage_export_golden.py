"""The usage CSV of a small, fixed data set, byte for byte: any change to the streaming
export (cursor, chunking, formatting) must leave the file exactly as it was."""

from pathlib import Path

import pytest
from django.urls import reverse

from tests.usage_data import NOV, sms_month

pytestmark = pytest.mark.django_db

EXPECTED = Path(__file__).parent / "data" / "usage_export_nov.csv"


def test_the_export_of_a_small_data_set_equals_the_expected_file(owner_client, workspace, other_workspace):
    sms_month(workspace, other_workspace)

    response = owner_client.get(reverse("usage_export", args=[workspace.slug, "sms"]), NOV)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == EXPECTED.read_bytes()
