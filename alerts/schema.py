"""The webhooks in the OpenAPI document: one `x-webhooks` entry per event type (the
OpenAPI 3.0 extension ReDoc renders), each a POST of the Event schema the events API
returns, so the pushed and the pulled payloads are documented as the one shape they are."""

from alerts.models import EventType

SIGNATURE_HELP = (
    "Signed in the `Billing-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' "
    "with the endpoint's secret>`; `Billing-Event-Id` carries the event id. Answer 2xx within 10 s; anything "
    "else is retried with exponential back-off for at least 24 hours. The same event may arrive more than once: "
    "deduplicate by id."
)


def webhooks_document(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook."""
    result["x-webhooks"] = {
        value: {
            "post": {
                "summary": label,
                "description": SIGNATURE_HELP,
                "operationId": f"webhook_{value.replace('.', '_')}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
                },
                "responses": {"200": {"description": "Received (any 2xx)"}},
            }
        }
        for value, label in EventType.choices
    }
    return result
