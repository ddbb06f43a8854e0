"""Webhooks go to public addresses only, unless the deployment allows the host: checked from
the URL, from what the name resolves to, and again at call time, where the request goes to
the address that was checked."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx
import pytest

from tessera.integrations.webhook import DestinationRefused, destination_problem, post_json

PUBLIC = "93.184.215.14"


def resolving(*addresses: str) -> Callable[[str, int], Sequence[str]]:
    """A resolver standing in for DNS: every name resolves to ``addresses``."""

    def resolve(host: str, port: int) -> Sequence[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8080/x", "127.0.0.1 is not a public address"),
        ("http://10.0.0.5/x", "10.0.0.5 is not a public address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address"),
        ("http://[::1]/x", "::1 is not a public address"),
        ("http://[::ffff:192.168.0.1]/x", "::ffff:192.168.0.1 is not a public address"),
        ("http://100.64.0.1/x", "100.64.0.1 is not a public address"),
        ("http://0.0.0.0/x", "0.0.0.0 is not a public address"),
        ("http://localhost:9000/x", "localhost is a private name"),
        ("https://hooks.internal/x", "hooks.internal is a private name"),
        (f"https://{PUBLIC}/x", None),
    ],
)
def test_private_literal_addresses_and_names_are_refused(url: str, problem: str | None) -> None:
    """Loopback, private, link-local (cloud metadata), shared, unspecified, mapped IPv6 and
    local names are refused without asking DNS; a public address passes."""
    found = destination_problem(url, (), None)

    assert (found.split(";")[0] if found else None) == problem


def test_a_name_resolving_to_a_private_address_is_refused_unless_allowed() -> None:
    """hooks.example.com resolving to 10.1.2.3 is refused; allowed by name or by network, it
    passes; resolving to a public address, it passes."""
    private = resolving(PUBLIC, "10.1.2.3")

    assert destination_problem("https://hooks.example.com/x", (), private) == (
        "hooks.example.com resolves to 10.1.2.3, not a public address; webhooks go to public "
        "addresses"
    )
    assert (
        destination_problem("https://hooks.example.com/x", ("hooks.example.com",), private) is None
    )
    assert destination_problem("http://10.1.2.3/x", ("10.1.0.0/16",), None) is None
    assert destination_problem("https://hooks.example.com/x", (), resolving(PUBLIC)) is None


def test_a_call_is_refused_when_the_name_resolves_privately_at_call_time() -> None:
    """DNS rebinding: a name public when published resolves to the metadata address when
    called: refused, and no request is made."""
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: requests.append(request) or httpx.Response(200))

    with pytest.raises(DestinationRefused, match=r"resolves to 169\.254\.169\.254"):
        post_json(
            "https://hooks.example.com/cart",
            {"a": 1},
            "key-1",
            resolve=resolving("169.254.169.254"),
            transport=transport,
        )

    assert requests == []


def test_a_call_goes_to_the_checked_address_with_the_urls_host_and_server_name() -> None:
    """The request connects to the address that was checked, naming the URL's host in the
    Host header and as the TLS server name, with the idempotency key."""
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: requests.append(request) or httpx.Response(202))

    answer = post_json(
        "https://hooks.example.com:8443/cart?x=1",
        {"a": 1},
        "key-1",
        resolve=resolving(PUBLIC),
        transport=transport,
    )

    [request] = requests
    assert answer.status == 202
    assert (str(request.url), request.headers["Host"], request.extensions["sni_hostname"]) == (
        f"https://{PUBLIC}:8443/cart?x=1",
        "hooks.example.com:8443",
        "hooks.example.com",
    )
    assert request.headers["Idempotency-Key"] == "key-1"
