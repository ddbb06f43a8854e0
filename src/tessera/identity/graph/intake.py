"""Where Collect hands stored events to Identify, in the ingest transaction.

Two things happen per accepted batch: messages whose identifiers were erased are dropped before
they are stored (the suppression list holds salted hashes, so a replay of an erased person's
old events re-creates nothing), and one ``identity.stitch`` job is enqueued with the identity
records of the rows that were stored, so the graph is updated within a second by a worker
without collection waiting on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.identifiers import Ident, Rules, record_to_json
from tessera.identity.graph.repository import IdentityRepository
from tessera.identity.graph.service import IdentityService
from tessera.job.service import JobService
from tessera.kit.process import PROCESS

STITCH_JOB = "identity.stitch"
RULES_CACHE_SECONDS = 5.0
_rules_and_salts = PROCESS.ttl_cache(
    "identity.rules_and_salts", maxsize=10_000, ttl=RULES_CACHE_SECONDS
)


def digest(salt: str, ident: Ident) -> str:
    """The salted hash an erased identifier is remembered by."""
    return ids.suppression_digest(salt, ident)


class IdentityIntake:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = IdentityRepository(session)

    def rules_and_salt(self, workspace_id: str) -> tuple[Rules, str]:
        """The workspace's rules and erasure salt, remembered per process for 5 seconds."""
        cached: tuple[Rules, str] | None = _rules_and_salts.get(workspace_id)
        if cached is not None:
            return cached
        rules = IdentityService(self.session).rules(workspace_id)
        salt = self.repository.config(workspace_id).salt
        _rules_and_salts[workspace_id] = (rules, salt)
        return rules, salt

    def suppressed_indexes(
        self, workspace_id: str, payloads: Sequence[Mapping[str, Any]]
    ) -> set[int]:
        """Positions of the messages that carry an erased person's identifier."""
        if not payloads or not self.repository.has_suppressions(workspace_id):
            return set()
        rules, salt = self.rules_and_salt(workspace_id)
        by_digest: dict[str, set[int]] = {}
        for index, payload in enumerate(payloads):
            for ident in ids.extract(payload, rules):
                by_digest.setdefault(digest(salt, ident), set()).add(index)
        hits = self.repository.suppressed(workspace_id, by_digest)
        return {i for d in hits for i in by_digest[d]}

    def enqueue_stitch(self, workspace_id: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """One stitch job for the stored rows that carry identifiers; returns how many."""
        rules, _ = self.rules_and_salt(workspace_id)
        records = []
        for row in rows:
            record = ids.record_from_message(
                row["payload"], row["timestamp"], row["channel"], rules
            )
            if record is not None:
                records.append(record_to_json(record))
        if records:
            JobService(self.session).enqueue(
                STITCH_JOB,
                {"workspace_id": workspace_id, "records": records},
                workspace_id=workspace_id,
                priority=10,
            )
        return len(records)
