"""What one spawned process does in the concurrent redemption test: several threads, each
redeeming the same member's reward in its own transaction, counting what happened."""

from __future__ import annotations

import threading
from typing import Any

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.loyalty.errors import InsufficientPoints
from tessera.loyalty.service import LoyaltyService


def redeem_many(
    url: str, workspace_id: str, profile_id: str, process: int, threads: int, attempts: int
) -> dict[str, Any]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    codes: list[str] = []
    refused: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        for attempt in range(attempts):
            key = f"p{process}-t{thread}-a{attempt}"
            try:
                with session_scope(factory) as session:
                    code = LoyaltyService(session).redeem_reward(
                        workspace_id, profile_id, "ten-off", key
                    )
                    made = code.code
                with lock:
                    codes.append(made)
            except InsufficientPoints:
                with lock:
                    refused.append(1)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    return {"codes": codes, "refused": len(refused), "errors": errors}
