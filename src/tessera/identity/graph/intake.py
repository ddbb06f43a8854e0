"""Where Collect hands stored events to Identify, in the ingest transaction.

Two things happen per batch: messages that name an erased person anywhere (ids, traits,
properties, context, free text, in any normalised form: ``mentions``) are dropped before they are
checked, quarantined or stored (the suppression list holds salted hashes, so a replay of an
erased person's old events re-creates nothing; ADR 0013, 0020), and one ``identity.stitch`` job
is enqueued with the identity records of the rows that were stored, so the graph is updated
within a second by a worker without collection waiting on it. The quarantine asks the same
question of every record it is about to keep, whoever refused it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.graph import identifiers as ids
from tessera.identity.graph import mentions
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

    def digests_mentioned(self, workspace_id: str, payload: Any) -> set[str]:
        """The salted digests of every identifier ``payload`` may name (``mentions``)."""
        rules, salt = self.rules_and_salt(workspace_id)
        return {digest(salt, ident) for ident in mentions.mentioned(payload, rules)}

    def suppressed_indexes(self, workspace_id: str, payloads: Sequence[Any]) -> set[int]:
        """Positions of the payloads (messages, records, raw text) that name an erased person
        anywhere, in any form the identity layer normalises to. One indexed lookup per batch,
        and none at all for a workspace that never erased anyone."""
        if not payloads or not self.repository.has_suppressions(workspace_id):
            return set()
        by_digest: dict[str, set[int]] = {}
        for index, payload in enumerate(payloads):
            for found in self.digests_mentioned(workspace_id, payload):
                by_digest.setdefault(found, set()).add(index)
        hits = self.repository.suppressed(workspace_id, by_digest)
        return {i for d in hits for i in by_digest[d]}

    def names_erased(self, workspace_id: str, payload: Any) -> bool:
        """Whether a payload names an erased person (``suppressed_indexes`` of one)."""
        return bool(self.suppressed_indexes(workspace_id, [payload]))

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
