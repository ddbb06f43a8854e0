"""Fuzzing the tracking API: whatever arrives, nothing is a 5xx and the books balance.

Hypothesis sends arbitrary JSON, Segment messages with random corruptions, bytes that are not
JSON, random content types, gzip (good and broken) and oversize bodies, with a valid write key
in each place SDKs put it, to the batch and the single-event paths. For every request:

- the answer is JSON and never 5xx; a 4xx is ``application/problem+json``;
- a request that parsed answers with its tally, ``accepted + duplicates + rejected ==
  received``, and the database grew by exactly ``accepted`` events and ``rejected`` quarantine
  rows of kind ``event``;
- a request that did not parse added no event and exactly one quarantine row, of kind
  ``request``;
- which of the two happened is what an independent reading of the request predicts.

The ``client`` and ``session`` fixtures span all examples of a run (one transaction, rolled
back at the end), so the database keeps growing and messageIds repeat across examples: the
health check about function-scoped fixtures is suppressed knowingly.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.models.collect import Event, QuarantineEntry
from tessera.models.workspace import ApiKeyKind
from tessera.workspace.service import WorkspaceService
from tests.support.factories import make_workspace

PROBLEM = "application/problem+json"
BATCH_PATHS = ("/v1/batch", "/v1/b", "/v1/import")
SINGLE_PATHS = ("/v1/track", "/v1/t", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group",
                "/v1/alias", "/v1/i", "/v1/a")  # fmt: skip
EVENT_LIMIT, BATCH_LIMIT = 32 * 1024, 500 * 1024

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "2026-11-25T10:00:00Z", "0001-01-01T00:00:00+05:00", "Z"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


times = st.sampled_from([
    "2026-11-25T10:00:00.000Z", "2026-11-25T10:00:03+01:00", "2026-11-25 10:00:00",
    "2026-11-25T09:59:58.123456+00:00",
])  # fmt: skip
bad_times = st.sampled_from([
    "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z",
    "yesterday", "", "2026-13-45T99:00:00Z",
])  # fmt: skip
message_ids = st.sampled_from(["dup-1", "dup-2"]) | st.uuids().map(str)  # replays happen
products = st.lists(
    st.fixed_dictionaries({"sku": st.sampled_from(["SERUM-30", "MASK-1"]),
                           "price": st.sampled_from([38.0, 12, 0]), "quantity": st.just(1)}),
    max_size=3,
)  # fmt: skip
properties = {
    "Order Completed": st.fixed_dictionaries(
        {"order_id": st.just("1001"), "total": st.just(76.0), "currency": st.just("USD"),
         "products": products}
    ),
    "Product Viewed": st.fixed_dictionaries({"sku": st.just("SERUM-30"), "price": st.just(38.0)}),
    "Signed Up": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
}  # fmt: skip
CORRUPTIONS = ("replace", "delete", "nul", "time", "type", "big id")


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed Segment message of a random type, then up to two random corruptions."""
    kind = draw(st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]))
    message: dict[str, Any] = {"type": kind, "messageId": draw(message_ids), "userId": "cus-1"}
    if draw(st.booleans()):
        message["anonymousId"] = "anon-1"
    if kind == "track":
        message["event"] = draw(st.sampled_from(sorted(properties)))
        message["properties"] = draw(properties[message["event"]])
    elif kind in ("page", "screen"):
        message.update(name="Home", properties={"path": "/"})
    elif kind in ("identify", "group"):
        message["traits"] = {"email": "ava@example.com"}
        if kind == "group":
            message["groupId"] = "grp-1"
    else:
        message["previousId"] = "anon-1"
    for key in draw(st.lists(st.sampled_from(["timestamp", "sentAt", "originalTimestamp"]))):
        message[key] = draw(times)
    if draw(st.booleans()):
        message["context"] = draw(st.fixed_dictionaries(
            {}, optional={"channel": st.sampled_from(["web", "app", "moon"]),
                          "library": st.just({"name": "analytics-ios"}),
                          "app": st.just({"name": "Saltwater"})}))  # fmt: skip
    for corruption in draw(st.lists(st.sampled_from(CORRUPTIONS), max_size=2)):
        if not message:
            break
        key = draw(st.sampled_from(sorted(message)))
        if corruption == "replace":
            message[key] = draw(json_values)
        elif corruption == "delete":
            del message[key]
        elif corruption == "nul":  # PostgreSQL cannot store NUL in text or JSONB
            value = message[key]
            message[key] = value + "\x00" if isinstance(value, str) else {"k\x00": value}
        elif corruption == "time":
            message[draw(st.sampled_from(["timestamp", "sentAt"]))] = draw(bad_times)
        elif corruption == "type":
            message["type"] = draw(st.sampled_from(["t", "teleport", None, 7]))
        else:
            message[draw(st.sampled_from(["userId", "messageId"]))] = draw(
                st.sampled_from([1e300, 10**30, "x" * 300])
            )
    return message


@dataclass
class Case:
    path: str
    body: bytes
    headers: dict[str, str]
    expect_parsed: bool  # what an independent reading of the request predicts


@st.composite
def cases(draw: st.DrawFn, write_key: str) -> Case:
    is_batch = draw(st.booleans())
    path = draw(st.sampled_from(BATCH_PATHS if is_batch else SINGLE_PATHS))
    shape = draw(st.sampled_from(["segment"] * 6 + ["any json", "bytes", "huge"]))
    document: Any
    if shape == "bytes":
        document = None
        plain = draw(st.binary(max_size=120) | st.text(max_size=60).map(str.encode))
    else:
        if shape == "any json":
            document = draw(json_values)
        elif shape == "huge":  # over the size limit: a 32 KB event, a 500 KB batch
            pad = {
                "type": "track",
                "event": "Big",
                "userId": "u",
                "properties": {"x": "y" * 20_500},
            }
            document = (
                {"batch": [pad] * 26} if is_batch else {**pad, "properties": {"x": "y" * 33_000}}
            )
        elif is_batch:
            items = draw(st.lists(messages() | json_values, max_size=6))
            padded = draw(st.sampled_from([None] * 9 + [33_000]))  # one item over 32 KB
            if padded and items:
                items[0] = {"type": "track", "event": "Big", "userId": "u", "messageId": "big",
                            "properties": {"x": "y" * padded}}  # fmt: skip
            document = draw(st.fixed_dictionaries(
                {"batch": st.just(items)},
                optional={"sentAt": times | bad_times, "context": json_values},
            ))  # fmt: skip
        else:
            document = draw(messages())
        key_place = draw(st.sampled_from(["basic", "bearer", "body"]))
        if key_place == "body" and isinstance(document, dict):
            document = {**document, "writeKey": write_key}
        plain = json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
    key_place = "none" if shape == "bytes" else key_place
    headers = {"Content-Type": draw(st.sampled_from(
        ["application/json", "text/plain", "text/plain;charset=UTF-8", "application/octet-stream",
         "application/x-www-form-urlencoded", ""]
    ))}  # fmt: skip
    if key_place in ("basic", "none"):
        headers["Authorization"] = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    elif key_place == "bearer":
        headers["Authorization"] = f"Bearer {write_key}"
    encoding = draw(st.sampled_from(["identity"] * 4 + ["gzip", "gzip but not"]))
    body = plain
    if encoding != "identity":
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(plain) if encoding == "gzip" else plain
    return Case(path, body, headers, _parses(plain, encoding, is_batch, key_place, write_key))


def _parses(plain: bytes, encoding: str, is_batch: bool, key_place: str, key: str) -> bool:
    """Whether the request should get as far as its messages being looked at."""
    if encoding == "gzip but not" or len(plain) > (BATCH_LIMIT if is_batch else EVENT_LIMIT):
        return False
    try:
        document = orjson.loads(plain)
    except orjson.JSONDecodeError:
        return False
    if key_place == "body" and not (isinstance(document, dict) and document.get("writeKey") == key):
        return False
    return not is_batch or (isinstance(document, dict) and isinstance(document.get("batch"), list))


@pytest.fixture
def write_key(session: Session) -> str:
    workspace_id = make_workspace(session, "fuzz")
    _key, token = WorkspaceService(session).create_api_key(workspace_id, ApiKeyKind.PUBLIC, "fuzz")
    session.commit()
    return token


def counts(session: Session) -> tuple[int, int, int]:
    """(events, quarantine rows of kind event, of kind request) across all workspaces."""
    events = session.scalar(select(func.count()).select_from(Event)) or 0
    by_kind = dict(
        session.execute(
            select(QuarantineEntry.kind, func.count()).group_by(QuarantineEntry.kind)
        ).all()
    )
    return events, by_kind.get("event", 0), by_kind.get("request", 0)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one transaction across examples, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_any_request_is_answered_without_5xx_and_its_books_balance(
    client: TestClient, session: Session, write_key: str, data: st.DataObject
) -> None:
    """Every request is answered 2xx or 4xx in JSON; what parsed balances and is stored or
    quarantined message by message; what did not is one quarantined request."""
    case = data.draw(cases(write_key))
    events_before, rejected_before, refused_before = counts(session)

    response = client.post(case.path, content=case.body, headers=case.headers)

    events_after, rejected_after, refused_after = counts(session)
    answer = response.json()
    assert response.status_code < 500, answer
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM
    parsed = "received" in answer
    event(f"{response.status_code} {'parsed' if parsed else 'refused whole'}")
    assert parsed == case.expect_parsed, answer
    if parsed:
        assert (
            answer["accepted"] + answer["duplicates"] + len(answer["rejected"])
            == answer["received"]
        )
        assert events_after - events_before == answer["accepted"]
        assert rejected_after - rejected_before == len(answer["rejected"])
        assert refused_after == refused_before
        assert response.status_code in (200, 400)
    else:
        assert response.status_code in (400, 401)
        assert (events_after, rejected_after) == (events_before, rejected_before)
        assert refused_after - refused_before == 1
