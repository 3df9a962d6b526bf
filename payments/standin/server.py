"""A small local Stripe stand-in: just the API our code calls, plus a hosted test checkout page.

It speaks Stripe's wire format (form-encoded requests, JSON objects, Stripe-shaped
errors, `Stripe-Signature` v1 webhooks), so the official SDK talks to it unchanged
through `STRIPE_API_BASE`. It honours `Idempotency-Key`, keeps everything in
memory and binds 127.0.0.1 only. Test cards: 4242 4242 4242 4242 pays;
4000 0000 0000 0341 saves but every charge declines; 4000 0000 0000 0002 declines;
4000 0025 0000 3155 needs authentication (declined off-session).
"""

import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

logger = logging.getLogger(__name__)

CARDS = {
    "4242424242424242": ("visa", None),
    "5555555555554444": ("mastercard", None),
    "4000000000000341": ("visa", "charge_declines"),
    "4000000000000002": ("visa", "card_declined"),
    "4000002500003155": ("visa", "authentication_required"),
}
DECLINED = {"code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."}
AUTH_REQUIRED = {
    "code": "authentication_required",
    "decline_code": "authentication_required",
    "message": "Your card was declined. This transaction requires authentication.",
}


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's v1 scheme: HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _nested(pairs: Iterable[tuple[str, str]]) -> dict:
    """Stripe's form encoding (a[b][0][c]=1) back into dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node: object) -> object:
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [listify(node[k]) for k in sorted(node, key=int)]
            return {k: listify(v) for k, v in node.items()}
        return node

    return listify(root)


DOC_URL = "https://stripe.com/docs/error-codes/"
# Stripe keeps an idempotency key this long; after it the key is new again.
IDEMPOTENCY_KEY_TTL = 24 * 3600
# What a path's first segment (or two) must name: a retrieve of another type is a 404.
OBJECT_TYPES = {
    "customers": ("customer", "cus"),
    "payment_intents": ("payment_intent", "pi"),
    "payment_methods": ("payment_method", "pm"),
    "setup_intents": ("setup_intent", "seti"),
    "refunds": ("refund", "re"),
    "charges": ("charge", "ch"),
    "disputes": ("dispute", "dp"),
    "checkout/sessions": ("checkout.session", "cs_test"),
}
SUPPORTED_CURRENCIES = ("usd",)
MINIMUM_AMOUNT = 50  # cents: Stripe's minimum charge in USD
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 10, 100

Response = tuple[int, dict]
_RULE_FIELDS = ("status", "kind", "message", "code")


class StripeAnswer(Exception):
    """An error answer, raised from deep inside a handler."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body["error"]["message"])
        self.response = (status, body)


def _error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    *,
    code: str | None = None,
    param: str | None = None,
    **extra: object,
) -> Response:
    """Stripe's error body: type, code, param, message and doc_url."""
    error = {"type": kind, "code": code, "param": param, "message": message, "doc_url": None, **extra}
    if code:
        error["doc_url"] = DOC_URL + code
    return status, {"error": {k: v for k, v in error.items() if v is not None}}


def _missing(object_type: str, object_id: str, param: str = "id") -> Response:
    label = {"payment_method": "PaymentMethod", "payment_intent": "PaymentIntent", "setup_intent": "SetupIntent"}
    name = label.get(object_type, object_type.replace("checkout.", "checkout ").replace("_", " "))
    return _error(404, f"No such {name}: '{object_id}'", code="resource_missing", param=param)


class StripeStandIn:
    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        webhook_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("The Stripe stand-in binds the loopback interface only.")
        self.secret_key, self.webhook_secret, self.webhook_url = secret_key, webhook_secret, webhook_url
        self.host, self.port = host, port
        self.objects: dict[str, dict] = {}
        self.card_numbers: dict[str, str] = {}  # payment method id -> test card number
        # Idempotency-Key -> (method, path, body, stored at, response), as Stripe keeps them.
        self.idempotent: dict[str, tuple[str, str, str, float, Response]] = {}
        self.events: list[dict] = []
        self.lock = threading.RLock()
        # Test controls: seconds added to the clock, refunds left pending, errors to answer.
        self.clock_offset = 0.0
        self.refunds_stay_pending = False
        self.injected: list[dict] = []
        self._sequence = 0
        self._order: dict[str, int] = {}  # id -> creation sequence: lists are stable within a second
        self._server: WSGIServer | None = None

    # --- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "StripeStandIn":
        server_class = type("ThreadingWSGIServer", (ThreadingMixIn, WSGIServer), {"daemon_threads": True})
        self._server = make_server(self.host, self.port, self.app, server_class, _QuietHandler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True, name="stripe-standin").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def serve_forever(self) -> None:
        self.start()
        logger.warning("Stripe stand-in on %s, webhooks to %s", self.url, self.webhook_url)
        threading.Event().wait()

    def now(self) -> float:
        return time.time() + self.clock_offset

    # --- test controls -------------------------------------------------------------

    def count(self, object_type: str) -> int:
        with self.lock:
            return sum(1 for obj in self.objects.values() if obj["object"] == object_type)

    def fail_with(
        self,
        *,
        status: int,
        kind: str,
        message: str,
        code: str | None = None,
        path: str = "/v1/",
        method: str = "POST",
        times: int | None = None,
        **extra: object,
    ) -> None:
        """Answer requests under `path` with this error (`times` of them, or until cleared),
        as Stripe would answer: each error class of the SDK can be made to happen."""
        with self.lock:
            self.injected.append(
                {
                    "status": status,
                    "kind": kind,
                    "message": message,
                    "code": code,
                    "path": path,
                    "method": method,
                    "times": times,
                    **extra,
                }
            )

    def fail_clear(self) -> None:
        with self.lock:
            self.injected.clear()

    def _injected_error(self, method: str, path: str) -> Response | None:
        for rule in self.injected:
            if rule["method"] == method and path.startswith(rule["path"]) and rule["times"] != 0:
                if rule["times"] is not None:
                    rule["times"] -= 1
                extra = {k: v for k, v in rule.items() if k not in (*_RULE_FIELDS, "method", "path", "times")}
                return _error(rule["status"], rule["message"], rule["kind"], code=rule["code"], **extra)
        return None

    def dispute_open(self, *, payment_intent: str, reason: str = "fraudulent", amount: int | None = None) -> dict:
        """What a cardholder's bank does: dispute the charge of a succeeded PaymentIntent."""
        with self.lock:
            intent = self._typed("payment_intent", payment_intent)
            charge = self.objects[intent["latest_charge"]]
            dispute = self._new(
                "dp",
                "dispute",
                amount=amount or charge["amount"],
                currency=charge["currency"],
                charge=charge["id"],
                payment_intent=intent["id"],
                reason=reason,
                status="needs_response",
                is_charge_refundable=False,
            )
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute)
            return dispute

    def dispute_close(self, dispute_id: str, *, status: str) -> dict:
        """The bank's decision: `won` or `lost`."""
        if status not in ("won", "lost"):
            raise ValueError("a dispute closes won or lost")
        with self.lock:
            dispute = self._typed("dispute", dispute_id)
            dispute["status"] = status
            self._emit("charge.dispute.closed", dispute)
            return dispute

    def refund_finish(self, refund_id: str, *, status: str, failure_reason: str | None = None) -> dict:
        """A pending refund succeeds or fails later, as at Stripe, with its `refund.*` events."""
        if status not in ("succeeded", "failed", "canceled"):
            raise ValueError("a pending refund ends succeeded, failed or canceled")
        with self.lock:
            refund = self._typed("refund", refund_id)
            if refund["status"] != "pending":
                raise ValueError(f"refund {refund_id} is {refund['status']}, not pending")
            refund["status"] = status
            if status != "succeeded":
                refund["failure_reason"] = failure_reason or "unknown"
                charge = self.objects[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            self._emit("refund.updated", refund)
            if status == "failed":
                self._emit("refund.failed", refund)
            return refund

    def _controls(self, method: str, path: str, params: dict) -> Response:
        """Test-only HTTP controls, for the demo and for clients in other processes."""
        parts = path.removeprefix("/_standin/").strip("/").split("/")
        try:
            if method == "POST" and parts == ["disputes"]:
                return 200, self.dispute_open(
                    payment_intent=params.get("payment_intent", ""), reason=params.get("reason", "fraudulent")
                )
            if method == "POST" and len(parts) == 3 and parts[0] == "disputes" and parts[2] == "close":
                return 200, self.dispute_close(parts[1], status=params.get("status", ""))
            if method == "POST" and len(parts) == 3 and parts[0] == "refunds" and parts[2] == "finish":
                return 200, self.refund_finish(
                    parts[1], status=params.get("status", ""), failure_reason=params.get("failure_reason")
                )
        except StripeAnswer as answer:
            return answer.response
        except ValueError as exc:
            return _error(400, str(exc))
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    # --- WSGI ----------------------------------------------------------------------

    def app(self, environ: dict, start_response: Callable) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode() if length else ""
        query = environ.get("QUERY_STRING", "")
        if path.startswith("/pay/"):
            status, headers, content = self._hosted_page(method, path.removeprefix("/pay/"), body)
            start_response(f"{status} {HTTPStatus(status).phrase}", headers)
            return [content]
        extra_headers: list[tuple[str, str]] = []
        params = _nested(parse_qsl(body if method in ("POST", "DELETE") else query, keep_blank_values=True))
        if path == "/_standin/counts":
            status, payload = 200, {"payment_intents": self.count("payment_intent")}
        elif environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.secret_key}":
            status, payload = _error(401, "Invalid API Key provided.", "invalid_request_error")
        elif path.startswith("/_standin/"):
            with self.lock:
                status, payload = self._controls(method, path, params)
        else:
            status, payload, replayed = self._api(method, path, params, environ.get("HTTP_IDEMPOTENCY_KEY"), body)
            if replayed:
                extra_headers.append(("Idempotent-Replayed", "true"))
            if status >= 400:
                # Like Stripe: a retry would only get the same answer (the SDK would sleep for nothing).
                extra_headers.append(("Stripe-Should-Retry", "false"))
        content = json.dumps(payload).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(content))),
                ("Request-Id", f"req_{secrets.token_hex(8)}"),
                *extra_headers,
            ],
        )
        return [content]

    def _api(
        self, method: str, path: str, params: dict, idempotency_key: str | None, body: str
    ) -> tuple[int, dict, bool]:
        with self.lock:
            injected = self._injected_error(method, path)
            if injected is not None:
                return (*injected, False)
            if method != "POST" or not idempotency_key:
                return (*self._route(method, path, params), False)
            seen = self.idempotent.get(idempotency_key)
            if seen is not None and self.now() - seen[3] > IDEMPOTENCY_KEY_TTL:
                del self.idempotent[idempotency_key]  # expired: Stripe forgets keys after 24 hours
                seen = None
            if seen is not None:
                seen_method, seen_path, seen_body, _, response = seen
                if (seen_method, seen_path) != (method, path):
                    status, payload = _error(
                        400,
                        "Keys for idempotent requests can only be used for the same endpoint they were first used "
                        f"for ('{seen_method} {seen_path}' vs '{method} {path}'). Try using a key other than "
                        f"'{idempotency_key}' if you meant to execute a different request.",
                        "idempotency_error",
                    )
                    return status, payload, False
                if seen_body != body:
                    status, payload = _error(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idempotency_key}' if you meant to execute a "
                        "different request.",
                        "idempotency_error",
                    )
                    return status, payload, False
                return (*response, True)
            response = self._route(method, path, params)
            # Stripe saves results once an endpoint began executing: successes and card
            # declines. A request refused by validation (400) may be fixed and sent again.
            if response[0] < 400 or response[0] == 402:
                self.idempotent[idempotency_key] = (method, path, body, self.now(), response)
            return (*response, False)

    def _route(self, method: str, path: str, params: dict) -> Response:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        routes: dict[tuple, Callable[..., Response]] = {
            ("POST", "customers"): self._customer_create,
            ("POST", "checkout", "sessions"): self._session_create,
            ("GET", "checkout", "sessions"): lambda p: self._list("checkout.session", p),
            ("POST", "payment_intents"): self._payment_intent_create,
            ("GET", "payment_intents"): lambda p: self._list("payment_intent", p),
            ("POST", "refunds"): self._refund_create,
            ("GET", "refunds"): lambda p: self._list("refund", p, filters=("payment_intent", "charge")),
            ("GET", "disputes"): lambda p: self._list("dispute", p, filters=("payment_intent", "charge")),
        }
        actions: dict[tuple[str, str, str], Callable[[str, dict], Response]] = {
            ("POST", "payment_methods", "detach"): self._payment_method_detach,
            ("POST", "checkout/sessions", "expire"): self._session_expire,
        }
        with self.lock:
            try:
                handler = routes.get((method, *parts))
                if handler is not None:
                    return handler(params)
                for prefix, (object_type, _) in OBJECT_TYPES.items():
                    size = prefix.count("/") + 1
                    if "/".join(parts[:size]) != prefix:
                        continue
                    rest = parts[size:]
                    if method == "GET" and len(rest) == 1:
                        return 200, self._typed(object_type, rest[0], include_deleted=True)
                    if method == "DELETE" and len(rest) == 1 and object_type == "customer":
                        customer = self._typed("customer", rest[0])
                        customer["deleted"] = True
                        return 200, {"id": customer["id"], "object": "customer", "deleted": True}
                    action = actions.get((method, prefix, rest[-1] if len(rest) == 2 else ""))
                    if action is not None:
                        return action(rest[0], params)
            except StripeAnswer as answer:
                return answer.response
            return _error(404, f"Unrecognized request URL ({method}: {path}).")

    # --- objects -------------------------------------------------------------------

    def _new(self, prefix: str, object_type: str, **fields: object) -> dict:
        self._sequence += 1
        obj = {"id": f"{prefix}_{secrets.token_hex(12)}", "object": object_type, "created": int(self.now())}
        obj.update({"livemode": False, "metadata": {}, **fields})
        self.objects[obj["id"]] = obj
        self._order[obj["id"]] = self._sequence
        return obj

    def _typed(self, object_type: str, object_id: str, *, param: str = "id", include_deleted: bool = False) -> dict:
        """The object of that type with that id; anything else is Stripe's resource_missing."""
        obj = self.objects.get(object_id or "")
        if obj is None or obj["object"] != object_type or (obj.get("deleted") and not include_deleted):
            raise StripeAnswer(*_missing(object_type, object_id, param))
        return obj

    def _list(self, object_type: str, params: dict, filters: tuple[str, ...] = ()) -> Response:
        """Newest first, `limit` at a time after `starting_after`, with `has_more`."""
        since = int((params.get("created") or {}).get("gte", 0))
        try:
            limit = int(params.get("limit", LIST_LIMIT_DEFAULT))
        except ValueError:
            return _error(400, "Invalid integer: limit", code="parameter_invalid_integer", param="limit")
        if not 1 <= limit <= LIST_LIMIT_MAX:
            return _error(400, "This value must be between 1 and 100.", code="parameter_invalid_integer", param="limit")
        found = [
            o
            for o in self.objects.values()
            if o["object"] == object_type
            and o["created"] >= since
            and not o.get("deleted")
            and all(o.get(name) == params[name] for name in filters if name in params)
        ]
        found.sort(key=lambda o: (o["created"], self._order[o["id"]]), reverse=True)
        after = params.get("starting_after")
        if after:
            ids = [o["id"] for o in found]
            if after not in ids:
                raise StripeAnswer(*_missing(object_type, after, "starting_after"))
            found = found[ids.index(after) + 1 :]
        url = "/v1/" + next(k for k, v in OBJECT_TYPES.items() if v[0] == object_type)
        return 200, {"object": "list", "data": found[:limit], "has_more": len(found) > limit, "url": url}

    def _customer_create(self, params: dict) -> Response:
        return 200, self._new("cus", "customer", name=params.get("name"), metadata=params.get("metadata", {}))

    def _session_create(self, params: dict) -> Response:
        mode = params.get("mode")
        if mode not in ("payment", "setup"):
            return _error(400, "mode must be payment or setup", code="parameter_invalid_string", param="mode")
        self._typed("customer", params.get("customer", ""), param="customer")
        amount = None
        if mode == "payment":
            items = params.get("line_items") or []
            for item in items:
                self._currency_check(item.get("price_data", {}).get("currency"), "line_items[0][price_data][currency]")
            amount = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
            if amount < MINIMUM_AMOUNT:
                return _error(
                    400,
                    "The Checkout Session's total amount due must add up to at least $0.50 usd",
                    code="amount_too_small",
                    param="line_items",
                )
        session = self._new(
            "cs_test",
            "checkout.session",
            mode=mode,
            status="open",
            payment_status="unpaid" if mode == "payment" else "no_payment_required",
            customer=params["customer"],
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata", {}),
            amount_total=amount,
            currency=(params.get("currency") or "usd") if mode == "setup" else "usd",
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            payment_intent=None,
            setup_intent=None,
        )
        session["url"] = f"{self.url}/pay/{session['id']}"
        session["expires_at"] = session["created"] + 24 * 3600
        return 200, session

    def _session_expire(self, session_id: str, params: dict) -> Response:
        session = self._typed("checkout.session", session_id)
        if session["status"] != "open":
            return _error(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired; {session_id} is '
                f"{session['status']}.",
            )
        session.update(status="expired", url=None)
        self._emit("checkout.session.expired", session)
        return 200, session

    def _currency_check(self, currency: object, param: str) -> None:
        if currency not in SUPPORTED_CURRENCIES:
            raise StripeAnswer(
                *_error(
                    400,
                    f"Invalid currency: {currency}. This account supports: {', '.join(SUPPORTED_CURRENCIES)}.",
                    code="parameter_invalid_string" if currency else "parameter_missing",
                    param=param,
                )
            )

    def _payment_method(self, customer: str, number: str) -> dict:
        brand = CARDS[number][0]
        method = self._new(
            "pm",
            "payment_method",
            type="card",
            customer=customer,
            card={"brand": brand, "last4": number[-4:], "exp_month": 12, "exp_year": 2034},
        )
        self.card_numbers[method["id"]] = number
        return method

    def _charge_outcome(self, payment_method_id: str | None, *, off_session: bool) -> dict | None:
        behaviour = CARDS.get(self.card_numbers.get(payment_method_id or "", ""), (None, "card_declined"))[1]
        if behaviour == "authentication_required" and off_session:
            return AUTH_REQUIRED
        if behaviour in ("charge_declines", "card_declined"):
            return DECLINED
        return None

    def _payment_intent(self, params: dict, *, off_session: bool) -> tuple[dict, dict | None]:
        amount = int(params["amount"])
        method = params.get("payment_method")
        error = self._charge_outcome(method, off_session=off_session)
        intent = self._new(
            "pi",
            "payment_intent",
            amount=amount,
            amount_received=0 if error else amount,
            currency=params.get("currency", "usd"),
            customer=params.get("customer"),
            payment_method=method,
            description=params.get("description"),
            metadata=params.get("metadata", {}),
            status="requires_payment_method" if error else "succeeded",
            last_payment_error=dict(error, type="card_error") if error else None,
            latest_charge=None,
        )
        if not error:
            charge = self._new(
                "ch",
                "charge",
                amount=amount,
                amount_refunded=0,
                currency=intent["currency"],
                customer=intent["customer"],
                payment_intent=intent["id"],
                payment_method=method,
                paid=True,
                refunded=False,
                disputed=False,
                status="succeeded",
            )
            intent["latest_charge"] = charge["id"]
        self._emit("payment_intent.payment_failed" if error else "payment_intent.succeeded", intent)
        return intent, error

    def _payment_intent_create(self, params: dict) -> Response:
        """Refuses what Stripe refuses: no or a too small amount, another currency, a missing
        or deleted customer, a card that is another customer's or was detached."""
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return _error(400, "Missing required param: amount.", code="parameter_missing", param="amount")
        if amount < MINIMUM_AMOUNT:
            return _error(400, "Amount must be at least $0.50 usd", code="amount_too_small", param="amount")
        self._currency_check(params.get("currency"), "currency")
        customer = self._typed("customer", params.get("customer", ""), param="customer")
        method = self._typed("payment_method", params.get("payment_method", ""), param="payment_method")
        if method["customer"] is None:
            return _error(
                400,
                "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, "
                "shared with a connected account without Customer attachment, or was detached from a Customer. "
                "It may not be used again. To use a PaymentMethod multiple times, you must attach it to a "
                "Customer first.",
                param="payment_method",
            )
        if method["customer"] != customer["id"]:
            return _error(
                400,
                f"The provided PaymentMethod {method['id']} does not belong to the Customer {customer['id']}.",
                param="payment_method",
            )
        if params.get("confirm") != "true":
            # Created, not confirmed: nothing is charged until a confirm call.
            intent = self._new(
                "pi",
                "payment_intent",
                amount=amount,
                amount_received=0,
                currency=params["currency"],
                customer=customer["id"],
                payment_method=method["id"],
                description=params.get("description"),
                metadata=params.get("metadata", {}),
                status="requires_confirmation",
                last_payment_error=None,
                latest_charge=None,
            )
            return 200, intent
        intent, error = self._payment_intent(params, off_session=params.get("off_session") == "true")
        if error:
            extra = {k: v for k, v in error.items() if k not in ("message", "code")}
            return _error(402, error["message"], "card_error", code=error["code"], payment_intent=intent, **extra)
        return 200, intent

    def _payment_method_detach(self, method_id: str, params: dict) -> Response:
        method = self._typed("payment_method", method_id)
        if method["customer"] is None:
            return _error(
                400,
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                code="payment_method_unexpected_state",
            )
        method["customer"] = None
        return 200, method

    def _refund_create(self, params: dict) -> Response:
        """From the portal (by PaymentIntent) or the Dashboard (either); emits what Stripe emits:
        `charge.refunded` and `refund.created` (then `refund.updated` if it was left pending)."""
        if params.get("payment_intent"):
            intent = self._typed("payment_intent", params["payment_intent"], param="payment_intent")
        elif params.get("charge"):
            charge = self._typed("charge", params["charge"], param="charge")
            intent = self.objects[charge["payment_intent"]]
        else:
            return _error(400, "One of `charge` or `payment_intent` is required.", code="parameter_missing")
        if intent["status"] != "succeeded":
            return _error(
                400,
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = self.objects[intent["latest_charge"]]
        amount = int(params.get("amount", charge["amount"] - charge["amount_refunded"]))
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            return _error(
                400,
                f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge "
                f"(${(charge['amount'] - charge['amount_refunded']) / 100:.2f})",
                param="amount",
            )
        refund = self._new(
            "re",
            "refund",
            amount=amount,
            currency=intent["currency"],
            payment_intent=intent["id"],
            charge=charge["id"],
            status="pending" if self.refunds_stay_pending else "succeeded",
            reason=params.get("reason"),
            failure_reason=None,
            metadata=params.get("metadata", {}),
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("charge.refunded", charge)
        self._emit("refund.created", refund)
        return 200, refund

    # --- hosted checkout page ------------------------------------------------------

    def _hosted_page(self, method: str, session_id: str, body: str) -> tuple[int, list, bytes]:
        with self.lock:
            session = self.objects.get(session_id)
            if session is None or session["object"] != "checkout.session":
                return 404, [("Content-Type", "text/plain")], b"No such checkout session."
            if method == "POST" and session["status"] == "open":
                number = parse_qs(body).get("card_number", [""])[0].replace(" ", "")
                error = self.pay(session_id, number)
                if error is None:
                    target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                    return 303, [("Location", target)], b""
                return 200, [("Content-Type", "text/html; charset=utf-8")], _page(session, error)
            return 200, [("Content-Type", "text/html; charset=utf-8")], _page(session, None)

    def pay(self, session_id: str, number: str) -> str | None:
        """What the hosted page does when a person submits a card; None on success, else the error."""
        with self.lock:
            session = self.objects[session_id]
            if session["status"] != "open":
                return "This checkout session is no longer open."
            return self._checkout_pay(session, number)

    def _checkout_pay(self, session: dict, number: str) -> str | None:
        if number not in CARDS:
            return "Your card number is invalid. Use a test card such as 4242 4242 4242 4242."
        customer = session["customer"]
        if session["mode"] == "setup":
            if CARDS[number][1] == "card_declined":
                return DECLINED["message"]
            method = self._payment_method(customer, number)
            setup = self._new(
                "seti", "setup_intent", customer=customer, payment_method=method["id"], status="succeeded"
            )
            session.update(status="complete", setup_intent=setup["id"])
        else:
            method = self._payment_method(customer, number)
            params = {"amount": session["amount_total"], "customer": customer, "payment_method": method["id"]}
            intent, error = self._payment_intent(params, off_session=False)
            if error:
                return error["message"]
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        self._emit("checkout.session.completed", session)
        return None

    # --- webhooks ------------------------------------------------------------------

    def _emit(self, event_type: str, obj: dict) -> None:
        event = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "data": {"object": json.loads(json.dumps(obj))},
        }
        self.events.append(event)
        if self.webhook_url:
            threading.Thread(target=self._deliver, args=(event,), daemon=True).start()

    def signed(self, event: dict, *, timestamp: int | None = None) -> tuple[bytes, str]:
        payload = json.dumps(event).encode()
        return payload, signature_header(payload, self.webhook_secret, timestamp)

    def _deliver(self, event: dict) -> None:
        """POST like Stripe does, retrying a few times on failure (Stripe retries for days)."""
        for attempt in range(5):
            payload, header = self.signed(event)
            request = urllib.request.Request(  # noqa: S310 (our own configured URL)
                self.webhook_url,
                data=payload,
                headers={"Content-Type": "application/json", "Stripe-Signature": header},
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    return
            except OSError as exc:
                logger.warning("Webhook %s attempt %s failed: %s", event["type"], attempt + 1, exc)
                time.sleep(0.5 * 2**attempt)


def _page(session: dict, error: str | None) -> bytes:
    paying = session["mode"] == "payment"
    amount = f"US${session['amount_total'] / 100:,.2f}" if paying else ""
    if session["status"] != "open":
        form = "<p>This checkout session is complete.</p>"
    else:
        form = f"""<form method="post">
  <label for="card_number">Card number</label>
  <input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required
         placeholder="4242 4242 4242 4242">
  <label for="expiry">Expiry (MM / YY)</label><input id="expiry" name="expiry" value="12 / 34">
  <label for="cvc">CVC</label><input id="cvc" name="cvc" value="123">
  <button type="submit">{html.escape("Pay " + amount if paying else "Save card")}</button>
</form>
<p><a href="{html.escape(session["cancel_url"] or "#")}">Cancel and return</a></p>"""
    alert = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Test checkout</title>
<style>body{{font-family:system-ui,sans-serif;max-width:420px;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem;font-weight:600}}input{{width:100%;padding:.5rem;font:inherit}}
button{{margin-top:1rem;width:100%;padding:.6rem;font:inherit;font-weight:600;background:#635bff;color:#fff;border:0;border-radius:6px}}
.error{{color:#b42318;background:#fef3f2;padding:.5rem}}.note{{color:#666;font-size:.9rem}}</style></head><body>
<p class="note">Stripe stand-in · test mode</p>
<h1>{html.escape("Pay " + amount if paying else "Save a card")}</h1>{alert}{form}
<p class="note">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 declines;
4000 0000 0000 0341 saves but its charges decline.</p></body></html>""".encode()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        logger.debug(format, *args)


def serve_from_settings() -> None:
    """The demo service: the stand-in at STRIPE_API_BASE, sending webhooks to our endpoint."""
    import os
    from urllib.parse import urlsplit

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
    django.setup()
    from django.conf import settings
    from django.urls import reverse

    logging.basicConfig(level=logging.INFO)
    address = urlsplit(settings.STRIPE_API_BASE)
    StripeStandIn(
        secret_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        webhook_url=settings.SITE_URL.rstrip("/") + reverse("payments:stripe_webhook"),
        host=address.hostname or "127.0.0.1",
        port=address.port or 8420,
    ).serve_forever()
