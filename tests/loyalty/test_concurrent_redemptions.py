"""Redemptions never take a balance below zero, proven on PostgreSQL: 4 processes x 3 threads
make 60 concurrent attempts at a 200-point reward against a member holding 1,000 points.
Exactly 5 succeed, 55 are refused, the balance is 0 and equals the sum of the entries."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import select

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.loyalty.service import LoyaltyService
from tessera.models.loyalty import LoyaltyCode, LoyaltyEntry
from tests.loyalty.redemption_probe import redeem_many
from tests.loyalty.world import person, program
from tests.support.factories import make_workspace

PROCESSES = 4
THREADS = 3
ATTEMPTS = 5  # per thread


def test_concurrent_redemptions_spend_only_the_points_there_are(postgres_url: str) -> None:
    """60 attempts, 1,000 points, 200 each: 5 codes, 55 refusals, no errors, balance 0."""
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        ws = make_workspace(session, "redeem-race")
        program(session, ws)
        ana = person(session, ws, "u-ana", "ana@example.com")
        LoyaltyService(session).adjust(ws, ana, 1000, "start", "start", "test")
    jobs = [(postgres_url, ws, ana, p, THREADS, ATTEMPTS) for p in range(PROCESSES)]

    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.starmap(redeem_many, jobs)

    codes = [c for r in results for c in r["codes"]]
    with session_scope(factory) as session:
        balance = LoyaltyService(session).member(ws, ana).balance
        entries = session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.workspace_id == ws))
        total = sum(e.points for e in entries)
        stored = session.scalars(select(LoyaltyCode.code).where(LoyaltyCode.workspace_id == ws))
        stored_codes = sorted(stored)
    engine.dispose()
    assert [e for r in results for e in r["errors"]] == []
    assert (len(codes), sum(r["refused"] for r in results)) == (5, 55)
    assert (balance, total) == (0, 0)
    assert stored_codes == sorted(codes)
