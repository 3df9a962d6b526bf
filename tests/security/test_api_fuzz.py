"""Schemathesis fuzzes every operation of the OpenAPI schema (/api/schema/), with a bounded
number of generated inputs per operation: no 500, every response conforms to the schema
(status code, content type, body), and a request the schema calls valid is accepted.
Requests carry a valid key of a workspace with a priced, funded SMS channel, and every
generated channel is that channel's number, so generated events reach pricing and the
ledger instead of stopping at "no such channel"."""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from tests.factories import api_key_for, priced_sms_channel

EXAMPLES_PER_OPERATION = 40
CHANNEL_NUMBER = "+14155550100"

# The refusals of a schema-valid request that a JSON schema cannot express, by field: they
# depend on the data (prices in force, the channel's kind), on the clock, or on several fields
# at once. Any other 400 to a schema-valid request is the schema and the server disagreeing.
BEYOND_THE_SCHEMA = {
    "type": re.compile(r"Channel \d+ is an? .+ channel: type must be (sms or mms|whatsapp)\.$"),
    "category": re.compile(
        r"(Only WhatsApp messages have a category; leave it out for SMS and MMS\.|Must be one of: .+\."
        r"|Disagrees with pricing\.category \(.+\); send one of them\.)$"
    ),
    # Meta's pricing fields belong to WhatsApp messages only, and `billable` must agree with `type`.
    "pricing": re.compile(r"Only WhatsApp messages are priced by Meta; leave it out for SMS and MMS\.$"),
    "pricing_type": re.compile(r"Only WhatsApp messages are priced by Meta; leave it out for SMS and MMS\.$"),
    "pricing.billable": re.compile(r"Disagrees with pricing\.type \(.+\)\.$"),
    "pricing.type": re.compile(r"A message Meta does not bill needs its free type: .+\.$"),
    "reported_price": re.compile(r"Only WhatsApp messages have a reported price\.$"),
    "segments": re.compile(r"An SMS needs `segments` or its `body`\.$"),
    "body": re.compile(r"Is \d+ segments long \(\w+\); at most \d+ are accepted\.$"),
    "occurred_at": re.compile(r"(Is more than \d+ minutes in the future|No price list in force at .+)\.$"),
    "country": re.compile(r"Price list .+ has no price for .+ and no default\.$"),
    None: re.compile(r"No price list in force at .+\.$"),
    # A webhook URL must resolve, to public addresses only (alerts.endpoint_urls): DNS, not the schema.
    "url": re.compile(
        r"(.+ does not resolve|.+; webhooks go to public servers only|The URL must start with https://"
        r"|Plain http:// is allowed for a loopback receiver only; use https://|The URL has no host"
        r"|The URL must not carry a user name or password; sign with the secret instead|Enter a valid URL)\.$"
    ),
}


def _beyond_the_schema(response) -> bool:
    """A 400 whose every error is one of BEYOND_THE_SCHEMA's."""
    if response.status_code != 400:
        return False
    errors = response.json()["errors"]

    def listed(error: dict) -> bool:
        pattern = BEYOND_THE_SCHEMA.get(error["field"])
        return pattern is not None and pattern.match(error["message"]) is not None

    return bool(errors) and all(listed(error) for error in errors)


@schemathesis.check
def schema_valid_requests_are_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, less the refusals listed in BEYOND_THE_SCHEMA."""
    if _beyond_the_schema(response):
        return None
    return checks.positive_data_acceptance(ctx, response, case)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    schema_valid_requests_are_accepted,
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
def test_no_generated_request_gets_a_500_a_response_outside_the_schema_or_a_refusal_of_valid_data(case, api_key):
    _onto_the_channel(case.body)
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


def _onto_the_channel(body: object) -> None:
    """Every channel of the request becomes the workspace's channel (a schema-valid value)."""
    if not isinstance(body, dict):
        return
    events = body.get("events")
    for target in [body, *(e for e in events if isinstance(e, dict))] if isinstance(events, list) else [body]:
        if "channel" in target:
            target["channel"] = CHANNEL_NUMBER
