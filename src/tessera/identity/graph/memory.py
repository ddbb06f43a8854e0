"""What a process's last stitch left the identity graph as, so its next stitch starts there.

A backlog (an import, a burst) reaches one worker as stitch after stitch of the same
workspace. Each one used to look up every key its records carry and read the counts of every
profile they touch, though the previous stitch, in the same process, had just written or read
most of them. This memory keeps, per workspace, each key's identifier and profile, the merges
(absorbed -> survivor), the profiles' planning states and their first and last seen times, as
they stood when that stitch committed.

It is only used when nothing else has written the graph since: every graph writer takes the
workspace lock (``IdentityRepository.lock_workspace``), which also moves the workspace's graph
clock on by one in the same transaction. A memory is valid for the stitch that finds the clock
exactly one past the value its own stitch committed; otherwise it is dropped. A memory is kept
only once its transaction commits (a rollback takes the clock back too, so nothing uncommitted
can be believed), and never for other rules. A memory begun at the clock's first value (no
graph writer had ever committed in the workspace, so it held no identifier) is complete: while
it stays valid, a key it does not hold is new, and is not looked up at all. ADR 0010.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import Rules
from tessera.identity.graph.planner import Key, ProfileState
from tessera.kit.process import PROCESS

# A memory grows with the keys a process has seen. A process keeps at most this many keys over
# all its workspaces' memories (about 400 bytes a key: about 1.2 GB), the least recently
# stitched workspaces' memories dropped first.
DEFAULT_MAX_KEYS = 3_000_000

_INFO = "tessera.identity.graph.memory"


@dataclass
class GraphMemory:
    version: int  # the workspace's graph clock as this memory's stitch committed it
    rules: Rules
    owners: dict[Key, tuple[str, str]] = field(default_factory=dict)  # key -> (id, profile)
    parent: dict[str, str] = field(default_factory=dict)  # merged profile -> survivor
    states: dict[str, ProfileState] = field(default_factory=dict)
    # profile -> (first seen, last seen), as written
    times: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)
    # Started with the workspace's graph (its clock's first value): every identifier it holds
    # is in ``owners``, so a key not there is new without asking the database.
    complete: bool = False

    def resolve(self, profile_id: str) -> str:
        """The profile ``profile_id`` became through the merges this memory has seen."""
        root = profile_id
        while root in self.parent:
            root = self.parent[root]
        while profile_id != root:
            self.parent[profile_id], profile_id = root, self.parent[profile_id]
        return root


class GraphMemories:
    """Every workspace's memory this process keeps, bounded by ``max_keys`` over all of them.

    One per process (``MEMORIES``), kept in ``tessera.kit.process.PROCESS``: emptied between
    tests, and safe to empty at any moment (the next stitch reads the graph again).
    """

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._kept: dict[tuple[str, str], GraphMemory] = {}  # the most recently kept last
        self._guard = threading.Lock()

    def take(
        self, session: Session, workspace_id: str, version: int, rules: Rules
    ) -> GraphMemory | None:
        """This process's memory of the workspace's graph, if nothing else has written it
        since (``version`` is the clock this transaction's lock moved to). Taken away either
        way: it is given back only by a commit (``keep``)."""
        with self._guard:
            memory = self._kept.pop((_place(session), workspace_id), None)
        if memory is None or memory.version != version - 1 or memory.rules != rules:
            return None
        return memory

    def keep(self, session: Session, workspace_id: str, memory: GraphMemory) -> None:
        """Keep ``memory`` for this process's next stitch once the session's transaction
        commits; forget it if the transaction rolls back."""
        pending: dict[tuple[str, str], GraphMemory] | None = session.info.get(_INFO)
        if pending is None:
            pending = session.info[_INFO] = {}
            event.listen(session, "after_commit", self._committed)
            event.listen(session, "after_rollback", _rolled_back)
        pending[(_place(session), workspace_id)] = memory

    def _committed(self, session: Session) -> None:
        pending: dict[tuple[str, str], Any] = session.info.get(_INFO, {})
        with self._guard:
            for place, memory in pending.items():
                self._kept.pop(place, None)
                self._kept[place] = memory
            total = sum(len(m.owners) for m in self._kept.values())
            while total > self.max_keys:
                oldest = next(iter(self._kept))
                total -= len(self._kept.pop(oldest).owners)
        pending.clear()

    def forget(self, workspace_id: str) -> None:
        """Drop this process's memory of one workspace's graph, wherever it is kept."""
        with self._guard:
            for place, workspace in list(self._kept):
                if workspace == workspace_id:
                    del self._kept[(place, workspace)]

    def clear(self) -> None:
        """Drop every memory (tests, and a worker that wants its memory back)."""
        with self._guard:
            self._kept.clear()

    def __len__(self) -> int:
        """How many keys the memories hold (what ``max_keys`` bounds)."""
        with self._guard:
            return sum(len(m.owners) for m in self._kept.values())


def _place(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _rolled_back(session: Session) -> None:
    session.info.get(_INFO, {}).clear()


MEMORIES = GraphMemories()
PROCESS.keep("identity.graph_memories", MEMORIES, f"{DEFAULT_MAX_KEYS} keys")
