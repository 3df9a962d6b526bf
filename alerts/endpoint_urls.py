"""Which URLs a webhook may be sent to: the SSRF guard.

A workspace admin (or an API key) chooses the URL and our servers make the request, so
without this an endpoint could point at the cloud metadata service, the database, or
anything else on the private network. In production an endpoint must be https:// and
every address its host resolves to must be public; this is checked when the endpoint is
registered and again at each delivery, after resolving, and the request then goes to the
address that was checked (never resolved a second time), so a DNS answer that changes
between check and connect (rebinding) cannot redirect it. `WEBHOOK_ALLOW_LOOPBACK` (the
demo and the tests) also allows http:// and the loopback addresses; never the rest.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Addresses that are not "the internet" even though ipaddress calls some of them global.
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
MAX_URL_LENGTH = 2000


class UnsafeEndpoint(Exception):
    """The URL may not receive webhooks; the message says why, for the admin."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the checked address, and the names the request must carry."""

    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    port: int
    address: str  # the resolved, checked IP the connection is made to
    path: str  # path and query


def _address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "a private or reserved address"
    if not address.is_global:
        return "a non-public address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeEndpoint(f"{host} does not resolve.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def endpoint_url_check(url: str) -> Target:
    """Refuse (UnsafeEndpoint) a URL that may not receive webhooks, else return the checked
    address to connect to. Every address the host resolves to must pass, not just one."""
    allow_loopback = settings.WEBHOOK_ALLOW_LOOPBACK
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeEndpoint(f"The URL must be 1 to {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeEndpoint(f"{url!r} is not a valid URL.") from exc
    allowed_schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeEndpoint("The URL must start with https://.")
    host = parts.hostname
    if not host:
        raise UnsafeEndpoint("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeEndpoint("The URL must not carry a user name or password; sign with the secret instead.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else _resolve(host, port)
    for address in addresses:
        refusal = _address_refusal(ipaddress.ip_address(address.split("%")[0]), allow_loopback)
        if refusal:
            raise UnsafeEndpoint(f"{host} is {refusal} ({address}); webhooks go to public servers only.")
    if parts.scheme == "http" and not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise UnsafeEndpoint("Plain http:// is allowed for a loopback receiver only; use https://.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0], path=path)
