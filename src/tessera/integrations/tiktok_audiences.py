"""A client of TikTok's Business API audience segments: map hashed people into a segment.

``POST {base}/open_api/v1.3/segment/mapping/`` with the ``Access-Token`` header and a JSON body
``{"advertiser_ids": [...], "action": "add", "id_schema": ["EMAIL_SHA256", "PHONE_SHA256"],
"segment_id": ..., "batch_data": [[{"id": email, "audience_ids": [segment]}, {"id": phone,
"audience_ids": [segment]}], ...]}``, at most 10,000 people per call. TikTok answers 200 with
``code`` 0 for success; any other code is ``AudienceRejected`` (40100 and up: the request is
wrong) or ``AudienceUnavailable`` (rate limits, 50000 and up). No business rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from tessera.integrations.meta_audiences import (
    AudienceRejected,
    AudienceUnavailable,
    UploadReceipt,
    batches,
)

SCHEMA = ["EMAIL_SHA256", "PHONE_SHA256"]
RATE_LIMITED = 40100
SERVER_ERRORS = 50000


class TikTokAudiences:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        advertiser_id: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.advertiser_id = advertiser_id
        self.client = client or httpx.Client(timeout=timeout)

    def add_users(self, segment_id: str, rows: Sequence[Sequence[str]]) -> UploadReceipt:
        """Map ``[email_sha256, phone_sha256]`` rows into the segment, 10,000 at a time."""
        sent = batches(rows)
        received = 0
        for batch in sent:
            body: dict[str, Any] = {
                "advertiser_ids": [self.advertiser_id],
                "action": "add",
                "id_schema": SCHEMA,
                "segment_id": segment_id,
                "batch_data": [
                    [{"id": value, "audience_ids": [segment_id]} for value in row] for row in batch
                ],
            }
            try:
                response = self.client.post(
                    f"{self.base_url}/open_api/v1.3/segment/mapping/",
                    json=body,
                    headers={"Access-Token": self.access_token},
                )
            except httpx.HTTPError as exc:
                raise AudienceUnavailable(f"TikTok could not be reached: {exc}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise AudienceUnavailable(
                    f"TikTok answered {response.status_code}", status=response.status_code
                )
            answer = response.json() if response.content else {}
            code = int(answer.get("code", response.status_code))
            if code == RATE_LIMITED or code >= SERVER_ERRORS:
                raise AudienceUnavailable(f"TikTok answered code {code}", status=code)
            if code != 0:
                raise AudienceRejected(
                    f"TikTok refused the upload: {answer.get('message', code)}", status=code
                )
            received += len(batch)
        return UploadReceipt(len(sent), received, 0)
