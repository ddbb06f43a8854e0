"""Worker jobs of matching: match profiles the stitcher created or changed, retrain models.

- ``identity.match`` ``{"profile_ids": [...]}`` (enqueued by the identity service after
  stitching): refresh those profiles' match records, then merge
  or queue for review. Safe to run twice: merged pairs are one profile, open reviews are not
  added again.
- ``identity.model_trained`` ``{"workspace_id": ...}``: train and store one workspace's model.
- ``identity.models_retrained`` (daily): enqueue ``identity.model_trained`` for each workspace
  with enough profiles whose model is missing or older than a week.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.errors import NotEnoughRecords
from tessera.identity.match.service import TRAIN_JOB, TRAINING_MINIMUM, MatchService
from tessera.job.registry import job_handler, periodic
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput

RETRAIN_AFTER = timedelta(days=7)
MATCH_BATCH = 500


def _profile_ids(payload: dict[str, Any]) -> list[str]:
    found = payload.get("profile_ids")
    if not isinstance(found, list) or not all(isinstance(p, str) for p in found):
        raise InvalidInput("profile_ids must be a list of profile ids", field="profile_ids")
    return found


def _workspace(payload: dict[str, Any]) -> str:
    workspace_id = payload.get("workspace_id")
    if not isinstance(workspace_id, str) or not workspace_id:
        raise InvalidInput("the job needs its workspace_id", field="workspace_id")
    return workspace_id


@job_handler("identity.match")
def match_profiles(session: Session, payload: dict[str, Any]) -> None:
    """Match the payload's profiles, each within its own workspace (profile ids are unique
    across workspaces, so the payload needs no workspace). 500 per run; the rest are enqueued
    as a follow-up job in the same transaction."""
    profile_ids = _profile_ids(payload)
    now, rest = profile_ids[:MATCH_BATCH], profile_ids[MATCH_BATCH:]
    service = MatchService(session)
    for workspace_id, ids in service.repository.workspaces_of(now).items():
        service.match(workspace_id, ids)
    for workspace_id, ids in service.repository.workspaces_of(rest).items():
        JobService(session).enqueue(
            "identity.match", {"profile_ids": ids}, workspace_id=workspace_id
        )


@job_handler(TRAIN_JOB)
def train_model(session: Session, payload: dict[str, Any]) -> None:
    """Train one workspace's match model; a workspace with too few profiles keeps its model."""
    try:
        MatchService(session).train(_workspace(payload))
    except NotEnoughRecords:
        return


@periodic("identity.models_retrained", every=timedelta(days=1), priority=200)
def retrain_models(session: Session, payload: dict[str, Any]) -> None:
    """Enqueue a training job per workspace whose model is missing or a week old."""
    slot = datetime.fromisoformat(payload["slot"])
    service = MatchService(session)
    jobs = JobService(session)
    for workspace_id in service.repository.workspaces_with_records(TRAINING_MINIMUM):
        config = service.repository.config(workspace_id)
        trained_at = config.trained_at if config is not None else None
        if trained_at is not None and trained_at > slot - RETRAIN_AFTER:
            continue
        jobs.enqueue(
            TRAIN_JOB,
            {"workspace_id": workspace_id},
            workspace_id=workspace_id,
            priority=200,
            idempotency_key=f"{TRAIN_JOB}:{workspace_id}:{payload['slot']}",
        )
