"""Schemathesis fuzzes every operation of the OpenAPI schema (/api/schema/), with a bounded
number of generated inputs per operation: no 500, and every response conforms to the schema
(status code, content type, body). Requests carry a valid key of a workspace with a priced,
funded SMS channel, so generated events can reach pricing and the ledger."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from tests.factories import api_key_for, priced_sms_channel

EXAMPLES_PER_OPERATION = 40
# Not `positive_data_acceptance`: rules across fields (a category only for WhatsApp, a channel
# that must exist) are answered 400/404 with a reason, which a JSON schema cannot express.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def _schema():
    from billing_portal.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


schema = _schema()


@pytest.fixture(autouse=True)
def _requests_keep_the_test_connection():
    """Like Django's test client: the WSGI requests keep the test's database connection (and
    its transaction) instead of closing it at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(workspace):
    priced_sms_channel(workspace)
    return api_key_for(workspace)


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_no_generated_request_gets_a_500_or_a_response_outside_the_schema(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)
