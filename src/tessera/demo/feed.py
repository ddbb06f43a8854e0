"""Send the demo brand's data through the real HTTP API, as its channels would.

Web and app sessions go to ``/v1/import`` (Segment's batch path for historical data) with the
web and app write keys. Orders go through the connectors: signed Shopify webhooks (web and POS,
then fulfilments, cancellations and refunds), TikTok Shop and Square orders, the Amazon order
report and the retail partner's sell-through file. Every message and order carries a fixed id,
so feeding twice stores everything once.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.progress import Progress, TaskID

from tessera.demo.people import Omnichannel

SHOP_DOMAIN = "saltwater-skin.myshopify.com"
SHOPIFY_SECRET = "demo-shopify-webhook-secret"  # noqa: S105 - the local demo's own shop
ORDERS_PER_REQUEST = 100


@dataclass
class Tally:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class FeedReport:
    requests: int = 0
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed_requests: int = 0
    orders: Tally = field(default_factory=Tally)


def feed_demo(
    base_url: str, tokens: dict[str, str], data: Omnichannel, progress: Progress | None = None
) -> FeedReport:
    """POST every web and app batch and every order; returns what the API said it did."""
    report = FeedReport()
    with httpx.Client(base_url=base_url, timeout=60) as client:
        _feed_events(client, tokens, data, report, progress)
        if "ops" in tokens:
            _feed_orders(client, tokens["ops"], data, report, progress)
    return report


def _tick(progress: Progress | None, description: str, total: int) -> Callable[[], None]:
    if progress is None:
        return lambda: None
    task: TaskID = progress.add_task(description, total=total)
    return lambda: progress.advance(task)


def _feed_events(
    client: httpx.Client,
    tokens: dict[str, str],
    data: Omnichannel,
    report: FeedReport,
    progress: Progress | None,
) -> None:
    jobs = [(feed, batch) for feed in ("web", "app") if feed in tokens
            for batch in (data.web_batches if feed == "web" else data.app_batches)]  # fmt: skip
    advance = _tick(progress, "sending site and app events", len(jobs))
    for feed, batch in jobs:
        response = client.post("/v1/import", json=batch, auth=(tokens[feed], ""))
        report.requests += 1
        if response.status_code == 200:
            body = response.json()
            report.received += body["received"]
            report.accepted += body["accepted"]
            report.duplicates += body["duplicates"]
            report.rejected += len(body["rejected"])
        else:
            report.failed_requests += 1
        advance()


def _feed_orders(
    client: httpx.Client,
    token: str,
    data: Omnichannel,
    report: FeedReport,
    progress: Progress | None,
) -> None:
    bearer = {"Authorization": f"Bearer {token}"}
    shop = client.post(
        "/v1/connectors/shopify",
        json={"shop_domain": SHOP_DOMAIN, "webhook_secret": SHOPIFY_SECRET},
        headers=bearer,
    )
    report.requests += 1
    if shop.status_code not in (200, 201):
        report.failed_requests += 1
        return
    webhook_path = shop.json()["webhook_path"]
    webhooks = [("orders/create", order) for order in data.shopify_orders]
    webhooks += data.shopify_followups
    uploads = _uploads(data)
    advance = _tick(progress, "sending orders through the connectors", len(webhooks) + len(uploads))
    for topic, payload in webhooks:
        body = json.dumps(payload).encode()
        digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
        response = client.post(
            webhook_path,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                "X-Shopify-Shop-Domain": SHOP_DOMAIN,
                "X-Shopify-Webhook-Id": _webhook_id(topic, payload),
                "X-Shopify-API-Version": "2025-10",
            },
        )
        report.requests += 1
        report.orders.received += 1
        if response.status_code == 200:
            if (
                response.json()["status"] == "duplicate"
                or response.json()["outcome"] == "unchanged"
            ):
                report.orders.duplicates += 1
            else:
                report.orders.accepted += 1
        else:
            report.orders.rejected += 1
        advance()
    for path, content, content_type in uploads:
        response = client.post(
            path, content=content, headers={**bearer, "Content-Type": content_type}
        )
        report.requests += 1
        if response.status_code == 200:
            body = response.json()
            report.orders.received += body["received"]
            report.orders.accepted += body["accepted"]
            report.orders.duplicates += body["duplicates"]
            report.orders.rejected += body["rejected"]
        else:
            report.failed_requests += 1
        advance()


def _webhook_id(topic: str, payload: dict[str, Any]) -> str:
    """Stable per delivery, so a second feed is recognised as Shopify's redelivery."""
    return f"demo-{topic.replace('/', '-')}-{payload['id']}-{payload.get('updated_at', '')}"


def _chunks(items: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), ORDERS_PER_REQUEST):
        yield items[start : start + ORDERS_PER_REQUEST]


def _delimited(rows: Sequence[dict[str, str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _uploads(data: Omnichannel) -> list[tuple[str, bytes, str]]:
    uploads: list[tuple[str, bytes, str]] = []
    for chunk in _chunks(data.tiktok_orders):
        body = json.dumps({"orders": list(chunk)}).encode()
        uploads.append(("/v1/connectors/tiktok/orders", body, "application/json"))
    for chunk in _chunks(data.square_orders):
        body = json.dumps({"orders": list(chunk)}).encode()
        uploads.append(("/v1/connectors/square/orders", body, "application/json"))
    if data.amazon_rows:
        tsv = _delimited(data.amazon_rows, "\t")
        uploads.append(("/v1/connectors/amazon/orders", tsv, "text/tab-separated-values"))
    if data.retail_rows:
        body = _delimited(data.retail_rows, ",")
        uploads.append(("/v1/connectors/retail/sell-through", body, "text/csv"))
    return uploads
