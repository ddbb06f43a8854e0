"""A JSON POST to a URL a brand chose (a journey's webhook step), with an idempotency key,
never to a private address.

The same ``Idempotency-Key`` header goes with every attempt of one call, so a receiver that
honours it (Stripe's convention) acts once however often a worker retries. No business rules:
the caller decides what an answer means.

The URL is a merchant's to choose, and the request leaves from inside the deployment, so a
webhook could reach what only Tessera should (a cloud metadata service at 169.254.169.254,
the database, an admin port on localhost): server-side request forgery. Every address the
host resolves to must be a public one (``ipaddress``'s ``is_global``: not private, loopback,
link-local, shared, reserved or unspecified; not multicast), unless the host is in the
deployment's allow-list (``TESSERA_WEBHOOK_ALLOWED_HOSTS``: names, addresses or networks). The
request then goes to the address that was checked (the Host header and TLS server name stay
the URL's), so a name that resolves to a public address when checked and a private one a
moment later (DNS rebinding) still reaches only the checked one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

import tessera

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = f"Tessera/{tessera.__version__} (journey webhook)"
PRIVATE_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain", ".home.arpa")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class WebhookAnswer:
    status: int


class WebhookUnreachable(Exception):
    """No HTTP answer: the connection failed or timed out."""


class DestinationRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (raises ``socket.gaierror`` when none)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def is_allowed(host: str, allowed: Collection[str]) -> bool:
    """Whether the deployment's allow-list names ``host`` (a name, an address or a network
    holding it)."""
    host = host.lower().rstrip(".")
    address = _address(host)
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == host:
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def destination_problem(url: str, allowed: Collection[str], resolve: Resolve | None) -> str | None:
    """Why a webhook may not be sent to ``url``, or None. A host on the allow-list passes; a
    private-sounding name (``localhost``, ``*.internal``...) or a literal private address
    does not; with ``resolve``, neither does a name resolving to one. A name that does not
    resolve is no problem here (the call finds it unreachable and retries)."""
    parsed = httpx.URL(url)
    host = parsed.host.lower().rstrip(".")
    if not host:
        return "the URL names no host"
    if is_allowed(host, allowed):
        return None
    if host == PRIVATE_NAMES[0] or host.endswith(PRIVATE_NAMES[1:]):
        return f"{host} is a private name; webhooks go to public addresses"
    literal = _address(host)
    if literal is not None:
        return None if is_public(literal) else _private(host, literal)
    if resolve is None:
        return None
    try:
        addresses = resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return None
    for found in addresses:
        address = _address(found)
        if address is None or not is_public(address):
            return _private(host, address, found)
    return None


def post_json(
    url: str,
    body: dict[str, Any],
    idempotency_key: str,
    *,
    allowed_hosts: Collection[str] = (),
    resolve: Resolve = resolve_host,
    timeout: httpx.Timeout = TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> WebhookAnswer:
    """POST ``body`` as JSON to ``url``; the status it answered, ``WebhookUnreachable``, or
    ``DestinationRefused`` (a private address, checked now, not when the URL was saved).
    Redirects are not followed: a webhook answers where it was registered."""
    headers = {"Idempotency-Key": idempotency_key, "User-Agent": USER_AGENT}
    target = httpx.URL(url)
    extensions: dict[str, Any] = {}
    host = target.host.lower().rstrip(".")
    if not is_allowed(host, allowed_hosts):
        problem = destination_problem(url, allowed_hosts, None)
        if problem is not None:
            raise DestinationRefused(problem)
        if _address(host) is None:
            port = target.port or (443 if target.scheme == "https" else 80)
            try:
                addresses = resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise WebhookUnreachable(f"{host} does not resolve: {exc}") from exc
            checked = [(found, _address(found)) for found in addresses]
            for found, address in checked:
                if address is None or not is_public(address):
                    raise DestinationRefused(_private(host, address, found))
            headers["Host"] = target.netloc.decode("ascii")
            extensions["sni_hostname"] = host
            target = target.copy_with(host=checked[0][0])
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
            response = client.post(target, json=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:
        raise WebhookUnreachable(f"{type(exc).__name__}: {exc}") from exc
    return WebhookAnswer(response.status_code)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _private(host: str, address: Address | None, text: str | None = None) -> str:
    shown = str(address) if address is not None else text
    if address is not None and address == _address(host):
        return f"{host} is not a public address; webhooks go to public addresses"
    return f"{host} resolves to {shown}, not a public address; webhooks go to public addresses"
