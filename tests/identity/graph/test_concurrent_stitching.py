"""Several processes stitching overlapping records at once on PostgreSQL end with the same
profiles as one writer: one profile per true person, none mixing two, no identifier left on a
merged profile."""

from __future__ import annotations

import multiprocessing
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.identity.graph.identifiers import (
    Ident,
    IdentityRecord,
    record_from_json,
    record_to_json,
)
from tessera.identity.graph.service import IdentityService
from tessera.models.identity import Identifier, Profile, ProfileStatus
from tessera.workspace.service import WorkspaceService

PEOPLE = 60
PROCESSES = 4
BATCH = 7
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def people_records(seed: int) -> tuple[list[IdentityRecord], dict[tuple[str, str], int]]:
    """Records that each link two or three identifiers of one person, in a shuffled order."""
    rng = random.Random(seed)
    truth: dict[tuple[str, str], int] = {}
    records: list[IdentityRecord] = []
    for person in range(PEOPLE):
        idents = [Ident("user_id", f"user-{person}", f"user-{person}")]
        idents += [Ident("email", f"p{person}.{k}@x.com", "") for k in range(2)]
        idents += [Ident("anonymous_id", f"dev-{person}-{k}", "") for k in range(4)]
        for ident in idents:
            truth[ident.key] = person
        for n in range(8):
            chosen = rng.sample(idents, rng.choice((2, 3)))
            records.append(
                IdentityRecord(
                    ref=f"p{person}-r{n}",
                    occurred_at=T0 + timedelta(minutes=rng.randrange(10_000)),
                    idents=tuple(sorted(chosen, key=lambda i: i.type != "user_id")),
                    traits={"first_name": f"Person{person}"},
                )
            )
    rng.shuffle(records)
    return records, truth


def components(records: list[IdentityRecord]) -> list[frozenset[tuple[str, str]]]:
    """The connected groups the records' links make (what the graph must hold)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(key: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(key, key)
        while parent[key] != key:
            key = parent[key]
        return key

    for record in records:
        first = find(record.idents[0].key)
        for ident in record.idents[1:]:
            parent[find(ident.key)] = first
    groups: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for key in list(parent):
        groups.setdefault(find(key), set()).add(key)
    return sorted((frozenset(g) for g in groups.values()), key=sorted)


def _stitch_share(url: str, workspace_id: str, share: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    records = [record_from_json(r) for r in share]
    for start in range(0, len(records), BATCH):
        with session_scope(factory) as session:
            IdentityService(session).stitch(workspace_id, records[start : start + BATCH])
    engine.dispose()


def _profiles(url: str, workspace_id: str) -> list[frozenset[tuple[str, str]]]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        groups: dict[str, set[tuple[str, str]]] = {}
        for type_, value, profile_id in session.execute(
            select(Identifier.type, Identifier.value, Identifier.profile_id).where(
                Identifier.workspace_id == workspace_id, Identifier.type != "email_sha256"
            )
        ):
            groups.setdefault(profile_id, set()).add((type_, value))
        on_merged = session.scalar(
            select(func.count())
            .select_from(Identifier)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(Identifier.workspace_id == workspace_id, Profile.status != ProfileStatus.ACTIVE)
        )
    engine.dispose()
    assert on_merged == 0
    return sorted((frozenset(g) for g in groups.values()), key=sorted)


def test_concurrent_writers_make_the_same_profiles_as_one_writer(postgres_url: str) -> None:
    """Four processes, overlapping links, one workspace: the profiles equal one writer's."""
    records, truth = people_records(seed=7)
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        service = WorkspaceService(session)
        serial = service.create_workspace("Serial", "serial").id
        parallel = service.create_workspace("Parallel", "parallel").id
    engine.dispose()
    payload = [record_to_json(r) for r in records]

    _stitch_share(postgres_url, serial, payload)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_stitch_share, args=(postgres_url, parallel, payload[k::PROCESSES]))
        for k in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)

    assert [p.exitcode for p in processes] == [0] * PROCESSES
    one_writer = _profiles(postgres_url, serial)
    many_writers = _profiles(postgres_url, parallel)
    assert many_writers == one_writer
    assert many_writers == components(records)
    for group in many_writers:
        assert len({truth[key] for key in group}) == 1
