"""Send the demo brand's data through the real HTTP API, as its channels would.

Web and app sessions go to ``/v1/import`` (Segment's batch path for historical data) with the
web and app write keys. Every message carries a fixed ``messageId``, so feeding twice stores
everything once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.progress import Progress

from tessera.demo.omnichannel import Omnichannel


@dataclass
class FeedReport:
    requests: int = 0
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed_requests: int = 0


def feed_demo(
    base_url: str, write_keys: dict[str, str], data: Omnichannel, progress: Progress | None = None
) -> FeedReport:
    """POST every web and app batch; returns what the API said it did with them."""
    report = FeedReport()
    jobs: list[tuple[str, dict[str, Any]]] = [
        *(("web", batch) for batch in data.web_batches),
        *(("app", batch) for batch in data.app_batches),
    ]
    task = progress.add_task("sending site and app events", total=len(jobs)) if progress else None
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for feed, batch in _present(jobs, write_keys):
            response = client.post("/v1/import", json=batch, auth=(write_keys[feed], ""))
            report.requests += 1
            if response.status_code == 200:
                body = response.json()
                report.received += body["received"]
                report.accepted += body["accepted"]
                report.duplicates += body["duplicates"]
                report.rejected += len(body["rejected"])
            else:
                report.failed_requests += 1
            if progress is not None and task is not None:
                progress.advance(task)
    return report


def _present(
    jobs: list[tuple[str, dict[str, Any]]], write_keys: dict[str, str]
) -> Iterable[tuple[str, dict[str, Any]]]:
    return ((feed, batch) for feed, batch in jobs if feed in write_keys)
