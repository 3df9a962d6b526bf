"""The webhook signature: `Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

Signing the timestamp with the body lets a receiver refuse a replayed old delivery.
"""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Billing-Signature"
EVENT_ID_HEADER = "Billing-Event-Id"
SECRET_PREFIX = "whsec_"


class SignatureInvalid(Exception):
    """The header is missing, malformed, stale, or does not match the body."""


def endpoint_secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def signature_verify(*, secret: str, header: str, body: bytes, tolerance: int, now: float | None = None) -> int:
    """Check a received signature; returns its timestamp. Any `v1` may match (a rotated secret)."""
    parts = [part.split("=", 1) for part in (header or "").split(",") if "=" in part]
    timestamps = [value for name, value in parts if name.strip() == "t"]
    signatures = [value.strip() for name, value in parts if name.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
        raise SignatureInvalid(f"{SIGNATURE_HEADER} must read t=<unix seconds>,v1=<hex>.")
    timestamp = int(timestamps[0])
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureInvalid(
            f"The signature is {int(abs(now - timestamp))} s old; at most {tolerance} s is accepted."
        )
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureInvalid("The signature does not match the body.")
    return timestamp
