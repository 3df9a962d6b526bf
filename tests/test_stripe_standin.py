"""The local Stripe stand-in speaks enough of Stripe for the official SDK."""

import pytest
import stripe

from payments.stripe_api import stripe_client


@pytest.fixture
def customer_with_card(stripe_standin):
    client = stripe_client()
    customer = client.v1.customers.create(params={"name": "Acme"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": customer.id,
            "currency": "usd",
            "success_url": "http://x/",
            "cancel_url": "http://x/",
        }
    )
    assert stripe_standin.pay(session.id, "4242424242424242") is None
    method = client.v1.setup_intents.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).setup_intent
    ).payment_method
    return customer.id, method


def _intent(customer: str, method: str, key: str):
    return stripe_client().v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
        },
        options={"idempotency_key": key},
    )


def test_the_same_idempotency_key_returns_the_same_payment_intent(stripe_standin, customer_with_card):
    first = _intent(*customer_with_card, key="k1")
    again = _intent(*customer_with_card, key="k1")
    other = _intent(*customer_with_card, key="k2")

    assert first.id == again.id != other.id
    assert first.status == "succeeded"
    assert stripe_standin.count("payment_intent") == 2


def test_a_wrong_api_key_is_refused(stripe_standin, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(stripe.AuthenticationError):
        stripe_client().v1.customers.create(params={"name": "x"})


def test_a_refund_is_created_retrieved_and_announced(stripe_standin, customer_with_card):
    intent = _intent(*customer_with_card, key="k1")
    refund = stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})

    assert stripe_client().v1.refunds.retrieve(refund.id).amount == 500
    (event,) = [e for e in stripe_standin.events if e["type"] == "charge.refunded"]
    assert event["data"]["object"]["amount_refunded"] == 500
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 1501})


def test_the_stand_in_only_binds_the_loopback_interface():
    from payments.standin.server import StripeStandIn

    with pytest.raises(ValueError, match="loopback"):
        StripeStandIn(secret_key="k", webhook_secret="s", host="0.0.0.0")


# --- refusing what Stripe refuses ----------------------------------------------------------


def _raw(standin, method: str, path: str, params: dict | None = None, key: str | None = None):
    """One request on the wire, to see status, headers and the exact error body."""
    import json
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    data = urlencode(params or {}).encode() if method == "POST" else None
    url = standin.url + path + ("" if method == "POST" or not params else "?" + urlencode(params))
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {standin.secret_key}")
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _charge_params(customer_id: str, method_id: str, **overrides: str) -> dict:
    params = {
        "amount": "2000",
        "currency": "usd",
        "customer": customer_id,
        "payment_method": method_id,
        "off_session": "true",
        "confirm": "true",
    }
    return {**params, **overrides}


@pytest.mark.parametrize(
    ("overrides", "status", "code", "param", "words"),
    [
        ({"amount": "49"}, 400, "amount_too_small", "amount", "at least $0.50 usd"),
        ({"currency": "eur"}, 400, "parameter_invalid_string", "currency", "Invalid currency: eur"),
        ({"currency": "xyz"}, 400, "parameter_invalid_string", "currency", "Invalid currency: xyz"),
        ({"customer": "cus_missing"}, 404, "resource_missing", "customer", "No such customer: 'cus_missing'"),
        ({"payment_method": "pm_missing"}, 404, "resource_missing", "payment_method", "No such PaymentMethod"),
    ],
)
def test_a_payment_intent_stripe_would_refuse_is_refused_with_stripes_error_body(
    stripe_standin, customer_with_card, overrides, status, code, param, words
):
    answer_status, _, body = _raw(
        stripe_standin, "POST", "/v1/payment_intents", _charge_params(*customer_with_card, **overrides)
    )

    assert answer_status == status
    error = body["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert words in error["message"]
    assert error["doc_url"] == f"https://stripe.com/docs/error-codes/{code}"
    assert stripe_standin.count("payment_intent") == 0


def test_charging_customer_as_card_as_customer_b_is_refused(stripe_standin, customer_with_card):
    _, method = customer_with_card
    other = stripe_client().v1.customers.create(params={"name": "B"})

    with pytest.raises(stripe.InvalidRequestError, match="does not belong to the Customer") as caught:
        stripe_client().v1.payment_intents.create(params=_charge_params(other.id, method))

    assert caught.value.http_status == 400
    assert caught.value.param == "payment_method"
    assert stripe_standin.count("payment_intent") == 0


def test_a_detached_card_cannot_be_charged_nor_detached_twice(stripe_standin, customer_with_card):
    customer, method = customer_with_card
    assert stripe_client().v1.payment_methods.detach(method).customer is None

    with pytest.raises(stripe.InvalidRequestError, match="detached from a Customer"):
        stripe_client().v1.payment_intents.create(params=_charge_params(customer, method))
    with pytest.raises(stripe.InvalidRequestError, match="not attached to a customer") as twice:
        stripe_client().v1.payment_methods.detach(method)

    assert twice.value.code == "payment_method_unexpected_state"


def test_a_deleted_customer_is_resource_missing_when_used(stripe_standin, customer_with_card):
    customer, method = customer_with_card
    assert stripe_client().v1.customers.delete(customer).deleted is True

    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client().v1.payment_intents.create(params=_charge_params(customer, method))

    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")


def test_a_payment_intent_created_without_confirm_is_not_charged(stripe_standin, customer_with_card):
    params = _charge_params(*customer_with_card)
    del params["confirm"], params["off_session"]

    intent = stripe_client().v1.payment_intents.create(params=params)

    assert (intent.status, intent.amount_received, intent.latest_charge) == ("requires_confirmation", 0, None)
    assert stripe_standin.count("charge") == 0
    assert not [e for e in stripe_standin.events if e["type"].startswith("payment_intent.")]


def test_a_replayed_key_answers_the_first_result_with_idempotent_replayed(stripe_standin, customer_with_card):
    params = _charge_params(*customer_with_card)
    first_status, first_headers, first = _raw(stripe_standin, "POST", "/v1/payment_intents", params, key="k")
    again_status, again_headers, again = _raw(stripe_standin, "POST", "/v1/payment_intents", params, key="k")

    assert (first_status, again_status) == (200, 200)
    assert again == first
    assert "Idempotent-Replayed" not in first_headers
    assert again_headers["Idempotent-Replayed"] == "true"
    assert stripe_standin.count("payment_intent") == 1


def test_a_key_is_scoped_to_its_endpoint_and_its_parameters(stripe_standin, customer_with_card):
    customer, method = customer_with_card
    _raw(stripe_standin, "POST", "/v1/payment_intents", _charge_params(customer, method), key="k")

    other_endpoint = _raw(stripe_standin, "POST", "/v1/customers", {"name": "x"}, key="k")
    other_params = _raw(
        stripe_standin, "POST", "/v1/payment_intents", _charge_params(customer, method, amount="3000"), key="k"
    )

    for status, _, body in (other_endpoint, other_params):
        assert status == 400
        assert body["error"]["type"] == "idempotency_error"
    assert "same endpoint" in other_endpoint[2]["error"]["message"]
    assert "same parameters" in other_params[2]["error"]["message"]
    assert stripe_standin.count("customer") == 1
    with pytest.raises(stripe.IdempotencyError):
        stripe_client().v1.customers.create(params={"name": "x"}, options={"idempotency_key": "k"})


def test_a_refused_request_is_not_remembered_under_its_key_and_keys_expire_after_24_hours(
    stripe_standin, customer_with_card
):
    customer, method = customer_with_card
    refused = _raw(
        stripe_standin, "POST", "/v1/payment_intents", _charge_params(customer, method, amount="10"), key="k"
    )
    fixed = _raw(stripe_standin, "POST", "/v1/payment_intents", _charge_params(customer, method), key="k")
    assert (refused[0], fixed[0]) == (400, 200)

    stripe_standin.clock_offset = 24 * 3600 + 1
    later = _raw(stripe_standin, "POST", "/v1/payment_intents", _charge_params(customer, method), key="k")

    assert later[0] == 200 and later[2]["id"] != fixed[2]["id"]
    assert "Idempotent-Replayed" not in later[1]


def test_a_card_decline_is_remembered_under_its_key(stripe_standin):
    client = stripe_client()
    customer = client.v1.customers.create(params={"name": "Acme"})
    method = stripe_standin._payment_method(customer.id, "4000000000000341")["id"]
    params = _charge_params(customer.id, method)

    first = _raw(stripe_standin, "POST", "/v1/payment_intents", params, key="k")
    again = _raw(stripe_standin, "POST", "/v1/payment_intents", params, key="k")

    assert (first[0], again[0], again[1]["Idempotent-Replayed"]) == (402, 402, "true")
    assert first[2]["error"]["type"] == "card_error" and first[2]["error"]["code"] == "card_declined"
    assert stripe_standin.count("payment_intent") == 1


def test_a_retrieve_finds_only_an_object_of_its_own_type(stripe_standin, customer_with_card):
    intent = _intent(*customer_with_card, key="k1")

    status, _, body = _raw(stripe_standin, "GET", f"/v1/customers/{intent.id}")

    assert status == 404
    assert body["error"]["code"] == "resource_missing"
    assert body["error"]["message"] == f"No such customer: '{intent.id}'"
    assert stripe_client().v1.payment_intents.retrieve(intent.id).id == intent.id


def test_lists_page_with_limit_and_starting_after(stripe_standin, customer_with_card):
    made = [_intent(*customer_with_card, key=f"k{n}").id for n in range(5)]

    first = stripe_client().v1.payment_intents.list(params={"limit": 2})
    second = stripe_client().v1.payment_intents.list(params={"limit": 2, "starting_after": first.data[-1].id})
    everything = [i.id for i in stripe_client().v1.payment_intents.list(params={"limit": 2}).auto_paging_iter()]

    assert ([i.id for i in first.data], first.has_more) == (made[::-1][:2], True)
    assert [i.id for i in second.data] == made[::-1][2:4]
    assert everything == made[::-1]
    status, _, body = _raw(stripe_standin, "GET", "/v1/payment_intents", {"limit": "101"})
    assert (status, body["error"]["param"]) == (400, "limit")


def test_a_checkout_session_can_be_expired_once_and_announces_it(stripe_standin, customer_with_card):
    customer, _ = customer_with_card
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "customer": customer,
            "line_items": [
                {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 2000, "product_data": {"name": "x"}}}
            ],
            "success_url": "http://x/",
            "cancel_url": "http://x/",
        }
    )

    expired = stripe_client().v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    (event,) = [e for e in stripe_standin.events if e["type"] == "checkout.session.expired"]
    assert event["data"]["object"]["id"] == session.id
    assert stripe_standin.pay(session.id, "4242424242424242") == "This checkout session is no longer open."
    with pytest.raises(stripe.InvalidRequestError, match="can be expired"):
        stripe_client().v1.checkout.sessions.expire(session.id)


def test_a_pending_refund_later_succeeds_or_fails_with_refund_events(stripe_standin, customer_with_card):
    intent = _intent(*customer_with_card, key="k1")
    stripe_standin.refunds_stay_pending = True
    good = stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    bad = stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 700})
    assert (good.status, bad.status) == ("pending", "pending")

    stripe_standin.refund_finish(good.id, status="succeeded")
    stripe_standin.refund_finish(bad.id, status="failed", failure_reason="lost_or_stolen_card")

    types = [e["type"] for e in stripe_standin.events if e["type"].startswith(("refund.", "charge.refunded"))]
    assert types == [
        *("charge.refunded", "refund.created", "charge.refunded", "refund.created"),
        *("refund.updated", "refund.updated", "refund.failed"),
    ]
    assert stripe_client().v1.refunds.retrieve(bad.id).failure_reason == "lost_or_stolen_card"
    listed = stripe_client().v1.refunds.list(params={"payment_intent": intent.id})
    assert {r.id for r in listed.data} == {good.id, bad.id}
    # A failed refund frees its amount: 2000 - 500 can still be refunded.
    assert stripe_client().v1.refunds.create(params={"payment_intent": intent.id, "amount": 1500}).amount == 1500


def test_disputes_open_and_close_through_the_test_control_with_their_events(stripe_standin, customer_with_card):
    intent = _intent(*customer_with_card, key="k1")

    status, _, dispute = _raw(stripe_standin, "POST", "/_standin/disputes", {"payment_intent": intent.id})
    closed = _raw(stripe_standin, "POST", f"/_standin/disputes/{dispute['id']}/close", {"status": "lost"})

    assert (status, dispute["status"], dispute["amount"], dispute["charge"]) == (
        200,
        "needs_response",
        2000,
        intent.latest_charge,
    )
    assert (closed[0], closed[2]["status"]) == (200, "lost")
    assert [e["type"] for e in stripe_standin.events if e["type"].startswith("charge.dispute")] == [
        "charge.dispute.created",
        "charge.dispute.closed",
    ]
    assert _raw(stripe_standin, "POST", "/_standin/disputes", {"payment_intent": "pi_nope"})[0] == 404


@pytest.mark.parametrize(
    ("status", "kind", "error_class"),
    [
        (400, "invalid_request_error", stripe.InvalidRequestError),
        (401, "invalid_request_error", stripe.AuthenticationError),
        (402, "card_error", stripe.CardError),
        (403, "invalid_request_error", stripe.PermissionError),
        (400, "idempotency_error", stripe.IdempotencyError),
        (429, "invalid_request_error", stripe.RateLimitError),
        (500, "api_error", stripe.APIError),
    ],
)
def test_the_stand_in_can_answer_each_stripe_error_class(stripe_standin, status, kind, error_class):
    stripe_standin.fail_with(
        status=status, kind=kind, message="as Stripe says", code="x", path="/v1/customers", times=1
    )

    with pytest.raises(error_class) as caught:
        stripe_client().v1.customers.create(params={"name": "x"})

    assert type(caught.value) is error_class
    assert stripe_client().v1.customers.create(params={"name": "x"}).id.startswith("cus_")  # once only


# --- shapes, checked against the official SDK's own types ------------------------------


def _conforms(value: object, annotation: object) -> bool:
    """Whether a JSON value fits an annotation of the SDK's typed resource classes."""
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if isinstance(annotation, (typing.ForwardRef, str)):
        return isinstance(value, (str, dict))  # an expandable object: its id, or the object
    if origin is typing.Union:
        return any(_conforms(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (str, bool):
        return isinstance(value, annotation)
    if isinstance(origin or annotation, type) and issubclass(origin or annotation, stripe.StripeObject):
        return isinstance(value, dict)
    raise AssertionError(f"no rule for {annotation!r}")


def _nested_class(annotation: object) -> type:
    import typing

    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, stripe.StripeObject):
            return arg
    raise AssertionError(f"{annotation!r} holds no object class")


def _assert_shape(obj: dict, resource: type, fields: list[str]) -> None:
    for path in fields:
        cls, value = resource, obj
        *parents, name = path.split(".")
        for parent in parents:
            cls, value = _nested_class(cls.__annotations__[parent]), value[parent]
        assert name in cls.__annotations__, f"{resource.__name__}.{path} is not a field of the SDK's class"
        assert name in value, f"the stand-in's {resource.__name__} has no {path}"
        assert _conforms(value[name], cls.__annotations__[name]), (
            f"{resource.__name__}.{path} = {value[name]!r} is not {cls.__annotations__[name]!r}"
        )


def test_every_field_the_project_reads_has_the_sdks_name_and_type(stripe_standin, customer_with_card):
    client = stripe_client()
    customer_id, method_id = customer_with_card
    intent = _intent(customer_id, method_id, key="k1")
    declining = stripe_standin._payment_method(customer_id, "4000000000000341")["id"]
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(params=_charge_params(customer_id, declining))
    stripe_standin.refunds_stay_pending = True
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
    stripe_standin.refund_finish(refund.id, status="failed", failure_reason="unknown")
    dispute = stripe_standin.dispute_open(payment_intent=intent.id)
    session_id = next(o["id"] for o in stripe_standin.objects.values() if o["object"] == "checkout.session")
    setup_intent_id = client.v1.checkout.sessions.retrieve(session_id).setup_intent
    wire = {
        stripe.Customer: client.v1.customers.retrieve(customer_id).to_dict(),
        stripe.PaymentMethod: client.v1.payment_methods.retrieve(method_id).to_dict(),
        stripe.SetupIntent: client.v1.setup_intents.retrieve(setup_intent_id).to_dict(),
        stripe.PaymentIntent: client.v1.payment_intents.retrieve(intent.id).to_dict(),
        stripe.Charge: stripe_standin.objects[intent.latest_charge],
        stripe.Refund: client.v1.refunds.retrieve(refund.id).to_dict(),
        stripe.Dispute: dispute,
        stripe.checkout.Session: client.v1.checkout.sessions.retrieve(session_id).to_dict(),
    }
    declined_intent = stripe_standin.objects[declined.value.error.payment_intent.id]
    reads = {
        stripe.Customer: ["id", "name", "metadata"],
        stripe.PaymentMethod: ["id", "customer", "card", "card.brand", "card.last4"],
        stripe.SetupIntent: ["id", "payment_method", "customer", "status"],
        stripe.PaymentIntent: [
            "id",
            "status",
            "amount",
            "amount_received",
            "currency",
            "customer",
            "metadata",
            "latest_charge",
            "payment_method",
            "last_payment_error",
        ],
        stripe.Charge: ["id", "amount", "amount_refunded", "currency", "customer", "payment_intent", "refunded"],
        stripe.Refund: [
            "id",
            "status",
            "amount",
            "currency",
            "payment_intent",
            "charge",
            "metadata",
            "failure_reason",
            "reason",
        ],
        stripe.Dispute: ["id", "amount", "status", "charge", "payment_intent", "reason"],
        stripe.checkout.Session: [
            "id",
            "url",
            "mode",
            "status",
            "payment_status",
            "amount_total",
            "currency",
            "customer",
            "metadata",
            "setup_intent",
            "payment_intent",
            "client_reference_id",
            "expires_at",
        ],
    }

    for resource, fields in reads.items():
        _assert_shape(wire[resource], resource, fields)
    _assert_shape(
        declined_intent,
        stripe.PaymentIntent,
        [
            "last_payment_error",
            "last_payment_error.code",
            "last_payment_error.decline_code",
            "last_payment_error.message",
            "last_payment_error.type",
        ],
    )
