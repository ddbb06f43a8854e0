"""Isolation probes of /v1/assets: workspace A's key against B's asset."""

from __future__ import annotations

from pathlib import Path
from tempfile import mkdtemp

from sqlalchemy.orm import Session

from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import ContentFiles, LocalStore, Staging
from tests.content.files import image_bytes, picture
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def content_probes(session: Session, b: Tenant) -> list[Probe]:
    root = Path(mkdtemp(prefix="probe-content-"))
    files = ContentFiles(LocalStore(root / "o"), Staging(root / "s"), 1 << 20, 1 << 20)
    data = image_bytes(picture(200, 200), "PNG")
    asset = (
        ContentService(session, files)
        .upload_stream(b.workspace_id, [data], UploadForm("b.png", deliverable_id="dlv_b"), "probe")
        .asset.id
    )
    base = "/v1/assets"
    one = f"{base}/{asset}"
    return [
        Probe(base, "GET", base, "only_own"),
        # A's upload naming B's deliverable makes A's own asset, never a version of B's.
        Probe(base, "POST", f"{base}?filename=x.png&deliverable_id=dlv_b", "only_own"),
        Probe(f"{base}/{{asset_id}}", "GET", one, "not_found"),
        Probe(f"{base}/{{asset_id}}/versions", "POST", f"{one}/versions?filename=x.png",
              "not_found"),
        Probe(f"{base}/{{asset_id}}/thumbnail", "GET", f"{one}/thumbnail", "not_found"),
        Probe(f"{base}/{{asset_id}}/reviews", "POST", f"{one}/reviews", "not_found",
              json={"decision": "approve"}),
        Probe(f"{base}/{{asset_id}}/renditions", "POST", f"{one}/renditions", "not_found",
              json={"presets": ["1x1"]}),
        Probe(f"{base}/{{asset_id}}/renditions", "GET", f"{one}/renditions", "not_found"),
        Probe(f"{base}/{{asset_id}}/specs", "GET", f"{one}/specs", "not_found"),
    ]  # fmt: skip
