"""Isolation probes of the creator routes: workspace A's key against B's creators
(``tests/http/test_isolation.py`` runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.creator.schemas import AccountIn, CreatorIn
from tessera.creator.service import CreatorService
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def creator_probes(session: Session, b: Tenant) -> list[Probe]:
    bea = CreatorService(session).create(b.workspace_id, CreatorIn(
        name="Bea Bravo", email="bea@bravo.example", bio="Bravo's baker",
        accounts=[AccountIn(platform="tiktok", handle="bea.bravo", followers=1000)],
    )).creator.id  # fmt: skip
    base = "/v1/creators"
    return [
        Probe(base, "GET", base, "only_own"),
        Probe(base, "POST", base, "only_own",
              json={"name": "A's", "accounts": [{"platform": "tiktok", "handle": "a.own"}]}),
        Probe(f"{base}/import", "POST", f"{base}/import", "only_own",
              json={"csv": "name,tiktok\nA2,a.two\n"}),
        Probe(f"{base}/search", "POST", f"{base}/search", "only_own", json={"query": "baker"}),
        Probe(f"{base}/lookalikes", "POST", f"{base}/lookalikes", "not_found",
              json={"creator_ids": [bea]}),
        Probe(f"{base}/customers", "GET", f"{base}/customers", "only_own"),
        Probe(f"{base}/{{creator_id}}", "GET", f"{base}/{bea}", "not_found"),
        Probe(f"{base}/{{creator_id}}", "PATCH", f"{base}/{bea}", "not_found",
              json={"notes": "a was here"}),
        Probe(f"{base}/{{creator_id}}", "DELETE", f"{base}/{bea}", "not_found"),
    ]  # fmt: skip
