"""A stitch starts from what its process's previous stitch left, only while that is still true."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.identity.graph import memory as graph_memory
from tessera.identity.graph.identifiers import Ident, IdentityRecord, all_keys
from tessera.identity.graph.service import IdentityService
from tessera.identity.graph.stitch import Stitch, StitchResult
from tessera.models.identity import Identifier, Profile, ProfileStatus
from tessera.workspace.service import WorkspaceService
from tests.identity.stitching import T0


@pytest.fixture
def factory(committed_database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(committed_database_url)
    graph_memory.MEMORIES.clear()
    yield make_session_factory(engine)
    graph_memory.MEMORIES.clear()
    engine.dispose()


def _workspace(factory: sessionmaker[Session], slug: str) -> str:
    with session_scope(factory) as session:
        return WorkspaceService(session).create_workspace(slug.title(), slug).id


def _records(seed: int, count: int, people: int = 40) -> list[IdentityRecord]:
    """Records of ``people`` people over a few devices, emails and phones each; some shared
    devices, so limits refuse some links and conflicts arise."""
    rng = random.Random(seed)
    records = []
    for n in range(count):
        p = rng.randrange(people)
        device = f"dev-{p}-{rng.randrange(3)}" if rng.random() > 0.1 else "dev-shared"
        idents = [Ident("anonymous_id", device, device)]
        for type_, value in rng.sample(
            [
                ("user_id", f"u{p}"),
                ("email", f"p{p}@x.com"),
                ("email", f"p{p}.{rng.randrange(7)}@y.com"),
                ("phone", f"+1212555{p:04d}"),
            ],
            rng.randrange(1, 3),
        ):
            idents.append(Ident(type_, value, value))
        at = T0 + timedelta(hours=rng.randrange(2000))  # out of order, as arrivals are
        records.append(IdentityRecord(f"r{seed}-{n}", at, tuple(idents)))
    return records


def _stitch(factory: sessionmaker[Session], ws: str, records: list[IdentityRecord]) -> StitchResult:
    with session_scope(factory) as session:
        return IdentityService(session).stitch(ws, records)


def _partition(factory: sessionmaker[Session], ws: str) -> set[frozenset[tuple[str, str]]]:
    return set(_profiles(factory, ws))


def _profiles(factory: sessionmaker[Session], ws: str) -> dict[frozenset[tuple[str, str]], tuple]:
    """Each profile's identifiers, with its first and last seen times."""
    groups: dict[str, set[tuple[str, str]]] = {}
    with session_scope(factory) as session:
        for type_, value, profile in session.execute(
            select(Identifier.type, Identifier.value, Identifier.profile_id).where(
                Identifier.workspace_id == ws
            )
        ):
            groups.setdefault(profile, set()).add((type_, value))
        times = {
            p.id: (p.first_seen, p.last_seen)
            for p in session.scalars(select(Profile).where(Profile.id.in_(groups)))
        }
    return {frozenset(g): times[p] for p, g in groups.items()}


def test_batches_stitched_from_memory_make_the_profiles_a_fresh_process_makes(
    factory: sessionmaker[Session],
) -> None:
    remembering, fresh = _workspace(factory, "remembering"), _workspace(factory, "fresh")
    for ws in (remembering, fresh):  # a graph written before: no memory here is complete
        with session_scope(factory) as session:
            IdentityService(session).repository.lock_workspace(ws)
    batches = [_records(seed, 60) for seed in range(8)]
    for batch in batches:
        keys = set(all_keys(batch))
        stored = set().union(*_partition(factory, remembering))
        result = _stitch(factory, remembering, batch)
        # Only keys this process never met were looked up (refused ones are met again).
        assert result.looked_up == len(keys - stored)
        graph_memory.MEMORIES.forget(fresh)  # as a new process would
        assert _stitch(factory, fresh, batch).looked_up == len(keys)
    assert _profiles(factory, remembering) == _profiles(factory, fresh)


def test_a_memory_begun_with_the_workspace_looks_nothing_up(
    factory: sessionmaker[Session],
) -> None:
    """A workspace nobody has stitched: its first stitch here holds every identifier it will
    ever have, so while nobody else writes, no key is looked up at all."""
    new, fresh = _workspace(factory, "new"), _workspace(factory, "fresh-ws")
    batches = [_records(seed, 60) for seed in range(6)]
    for batch in batches:
        assert _stitch(factory, new, batch).looked_up == 0
        graph_memory.MEMORIES.forget(fresh)
        _stitch(factory, fresh, batch)
    assert _profiles(factory, new) == _profiles(factory, fresh)
    # Another writer: the memory is dropped, and the next one is not complete.
    with session_scope(factory) as session:
        IdentityService(session).repository.lock_workspace(new)
    batch = batches[0]
    assert _stitch(factory, new, batch).looked_up == len(set(all_keys(batch)))


def test_another_writer_or_a_rollback_makes_the_next_stitch_read_everything(
    factory: sessionmaker[Session],
) -> None:
    ws = _workspace(factory, "invalidated")
    first, second = _records(1, 50), _records(2, 50)
    _stitch(factory, ws, first)
    assert _stitch(factory, ws, first).looked_up == 0  # all remembered

    # Another transaction locks the graph (any writer does): the memory is no longer true.
    with session_scope(factory) as session:
        IdentityService(session).repository.lock_workspace(ws)
    assert _stitch(factory, ws, first).looked_up == len(set(all_keys(first)))

    # A stitch that rolls back leaves nothing remembered, though its process planned it.
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        IdentityService(session).stitch(ws, second)
        raise RuntimeError("the job failed after the stitch")
    result = _stitch(factory, ws, second)
    assert result.looked_up == len(set(all_keys(second)))
    assert _partition(factory, ws) == _partition_of_fresh(factory, first + second)


def _partition_of_fresh(
    factory: sessionmaker[Session], records: list[IdentityRecord]
) -> set[frozenset[tuple[str, str]]]:
    ws = _workspace(factory, f"fresh-{len(records)}")
    for start in range(0, len(records), 50):
        graph_memory.MEMORIES.forget(ws)
        _stitch(factory, ws, records[start : start + 50])
    return _partition(factory, ws)


def test_a_process_keeps_its_most_recent_memories_within_its_key_budget(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _workspace(factory, "older"), _workspace(factory, "newer")
    records = _records(3, 40)
    _stitch(factory, first, records)
    _stitch(factory, second, records)
    assert _stitch(factory, first, records).looked_up == 0  # both fit the default budget
    assert _stitch(factory, second, records).looked_up == 0

    # A budget that holds one workspace's keys: the less recently stitched one is dropped.
    monkeypatch.setattr(graph_memory.MEMORIES, "max_keys", len(set(all_keys(records))))
    _stitch(factory, first, records)
    _stitch(factory, second, records)  # its memory was dropped for first's: begun again
    keys = set(all_keys(records))
    refused = keys - set().union(*_partition(factory, second))  # met again, never held
    assert _stitch(factory, second, records).looked_up == len(refused)
    assert _stitch(factory, first, records).looked_up == len(keys)


def test_a_batch_handed_to_the_writer_in_pieces_makes_what_one_piece_makes(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning hands new identifiers to the writer every Stitch.plan_chunk records, in the profile
    they started in; merges later in the batch move them. The result must not depend on it."""
    whole, pieces = _workspace(factory, "whole"), _workspace(factory, "pieces")
    batches = [_records(seed, 120, people=15) for seed in range(4)]  # many merges, conflicts
    for batch in batches:
        _stitch(factory, whole, batch)
    monkeypatch.setattr(Stitch, "plan_chunk", 7)
    merges = 0
    for batch in batches:
        merges += len(_stitch(factory, pieces, batch).merges)
    assert merges > 0
    assert _profiles(factory, pieces) == _profiles(factory, whole)
    with session_scope(factory) as session:
        held = {
            i.profile_id
            for i in session.scalars(select(Identifier).where(Identifier.workspace_id == pieces))
        }
        statuses = {p.status for p in session.scalars(select(Profile).where(Profile.id.in_(held)))}
    assert statuses == {ProfileStatus.ACTIVE}  # no identifier left on an absorbed profile
