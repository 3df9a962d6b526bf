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

Response = tuple[int, dict]


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


def _error(status: int, message: str, kind: str = "invalid_request_error", **extra: object) -> Response:
    return status, {"error": {"type": kind, "message": message, **extra}}


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
        self.idempotent: dict[str, tuple[str, Response]] = {}
        self.events: list[dict] = []
        self.lock = threading.RLock()
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

    # --- counts for tests ----------------------------------------------------------

    def count(self, object_type: str) -> int:
        with self.lock:
            return sum(1 for obj in self.objects.values() if obj["object"] == object_type)

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
        if path == "/_standin/counts":
            status, payload = 200, {"payment_intents": self.count("payment_intent")}
        elif environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.secret_key}":
            status, payload = _error(401, "Invalid API Key provided.")
        else:
            params = _nested(parse_qsl(body if method == "POST" else query, keep_blank_values=True))
            status, payload = self._api(method, path, params, environ.get("HTTP_IDEMPOTENCY_KEY"), body)
        content = json.dumps(payload).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(content))), ("Request-Id", "req_x")],
        )
        return [content]

    def _api(self, method: str, path: str, params: dict, idempotency_key: str | None, body: str) -> Response:
        if method == "POST" and idempotency_key:
            with self.lock:
                if idempotency_key in self.idempotent:
                    seen_body, response = self.idempotent[idempotency_key]
                    if seen_body != body:
                        return _error(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters.",
                            kind="idempotency_error",
                        )
                    return response
                response = self._route(method, path, params)
                self.idempotent[idempotency_key] = (body, response)
                return response
        return self._route(method, path, params)

    def _route(self, method: str, path: str, params: dict) -> Response:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        routes: dict[tuple, Callable[..., Response]] = {
            ("POST", "customers"): self._customer_create,
            ("POST", "checkout", "sessions"): self._session_create,
            ("GET", "checkout", "sessions"): lambda p: self._list("checkout.session", p),
            ("POST", "payment_intents"): self._payment_intent_create,
            ("GET", "payment_intents"): lambda p: self._list("payment_intent", p),
            ("POST", "refunds"): self._refund_create,
        }
        with self.lock:
            handler = routes.get((method, *parts))
            if handler is not None:
                return handler(params)
            if method == "GET" and parts and parts[-1] in self.objects:
                return 200, self.objects[parts[-1]]
            if method == "POST" and len(parts) == 3 and parts[0] == "payment_methods" and parts[2] == "detach":
                return self._payment_method_detach(parts[1])
            if method == "POST" and parts[:2] == ["checkout", "sessions"] and parts[3:] == ["expire"]:
                return self._session_expire(parts[2])
            return _error(404, f"Unrecognized request URL ({method}: {path}).")

    # --- objects -------------------------------------------------------------------

    def _new(self, prefix: str, object_type: str, **fields: object) -> dict:
        obj = {"id": f"{prefix}_{secrets.token_hex(12)}", "object": object_type, "created": int(time.time())}
        obj.update({"livemode": False, "metadata": {}, **fields})
        self.objects[obj["id"]] = obj
        return obj

    def _list(self, object_type: str, params: dict) -> Response:
        since = int((params.get("created") or {}).get("gte", 0))
        found = [o for o in self.objects.values() if o["object"] == object_type and o["created"] >= since]
        found.sort(key=lambda o: o["created"], reverse=True)
        return 200, {"object": "list", "data": found, "has_more": False, "url": f"/v1/{object_type}s"}

    def _customer_create(self, params: dict) -> Response:
        return 200, self._new("cus", "customer", name=params.get("name"), metadata=params.get("metadata", {}))

    def _session_create(self, params: dict) -> Response:
        mode = params.get("mode")
        if mode not in ("payment", "setup"):
            return _error(400, "mode must be payment or setup", param="mode")
        if params.get("customer") not in self.objects:
            return _error(400, f"No such customer: '{params.get('customer')}'", param="customer")
        amount = None
        if mode == "payment":
            items = params.get("line_items") or []
            amount = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
            if amount <= 0:
                return _error(400, "line_items must have a positive amount", param="line_items")
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

    def _session_expire(self, session_id: str) -> Response:
        """As Stripe: only an open session can be expired; it can then never be paid."""
        session = self.objects.get(session_id)
        if session is None or session["object"] != "checkout.session":
            return _error(404, f"No such checkout.session: '{session_id}'")
        if session["status"] != "open":
            status = session["status"]
            return _error(400, f'Only Checkout Sessions with a status in ["open"] can be expired, not {status}.')
        session["status"] = "expired"
        return 200, session

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
            latest_charge=None if error else f"ch_{secrets.token_hex(12)}",
        )
        self._emit("payment_intent.payment_failed" if error else "payment_intent.succeeded", intent)
        return intent, error

    def _payment_intent_create(self, params: dict) -> Response:
        if "amount" not in params or params.get("customer") not in self.objects:
            return _error(400, "amount and an existing customer are required")
        if params.get("payment_method") not in self.card_numbers:
            return _error(400, f"No such PaymentMethod: '{params.get('payment_method')}'", param="payment_method")
        intent, error = self._payment_intent(params, off_session=params.get("off_session") == "true")
        if error:
            extra = {k: v for k, v in error.items() if k != "message"}
            return _error(402, error["message"], kind="card_error", payment_intent=intent, **extra)
        return 200, intent

    def _payment_method_detach(self, method_id: str) -> Response:
        method = self.objects.get(method_id)
        if method is None or method["object"] != "payment_method":
            return _error(404, f"No such PaymentMethod: '{method_id}'")
        method["customer"] = None
        return 200, method

    def _refund_create(self, params: dict) -> Response:
        intent = self.objects.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return _error(400, "A refund needs a succeeded payment_intent", param="payment_intent")
        amount = int(params.get("amount", intent["amount_received"]))
        refunded = sum(
            r["amount"]
            for r in self.objects.values()
            if r["object"] == "refund"
            and r.get("payment_intent") == intent["id"]
            and r["status"] not in ("failed", "canceled")  # as Stripe: a refused refund frees its amount
        )
        if amount <= 0 or refunded + amount > intent["amount_received"]:
            return _error(400, "Refund amount is more than what is left to refund", param="amount")
        refund = self._new(
            "re",
            "refund",
            amount=amount,
            currency=intent["currency"],
            payment_intent=intent["id"],
            charge=intent["latest_charge"],
            status="succeeded",
            metadata=params.get("metadata", {}),
        )
        charge = {
            "id": intent["latest_charge"],
            "object": "charge",
            "amount": intent["amount_received"],
            "amount_refunded": refunded + amount,
            "currency": intent["currency"],
            "customer": intent["customer"],
            "payment_intent": intent["id"],
            "refunded": refunded + amount == intent["amount_received"],
        }
        self._emit("charge.refunded", charge)
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
