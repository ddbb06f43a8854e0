"""The fault hook of the send's fault-injection test, and the worker process it runs in.

It watches the moment the provider has taken a message and the worker has not yet recorded
it (``sending.PROVIDER_ANSWERED``) and kills the process there with ``os._exit``, the way a
SIGKILL or a power cut would: no rollback handler, no lease given back. The plan is a JSON
object in TESSERA_TEST_FAULT_PLAN: how many times to die at each message's idempotency key.
Each death is appended to the file TESSERA_TEST_FAULT_LOG first (and synced), so a key dies
as many times as planned whichever process runs it.

``run_worker`` is a worker process's whole life: forked from the test (so it starts in a
fraction of a second, not the seconds a fresh interpreter takes to import Tessera), it reads
its settings from the environment it is given, as ``tessera worker`` does, and runs the job
runner until SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from tessera.config import get_settings
from tessera.kit.process import PROCESS
from tessera.message.sending import PROVIDER_ANSWERED
from tessera.models.message import Message
from tessera.worker import build_worker

FAULT_EXIT_CODE = 86


def _plan() -> dict[str, int]:
    raw = os.environ.get("TESSERA_TEST_FAULT_PLAN")
    return {str(k): int(v) for k, v in json.loads(raw).items()} if raw else {}


def _die_after_answer(row: Message, provider_id: str) -> None:
    planned = _plan().get(row.idempotency_key, 0)
    log = Path(os.environ["TESSERA_TEST_FAULT_LOG"])
    died = log.read_text().split().count(row.idempotency_key) if log.exists() else 0
    if died >= planned:
        return
    with log.open("a") as file:
        file.write(row.idempotency_key + "\n")
        file.flush()
        os.fsync(file.fileno())
    os._exit(FAULT_EXIT_CODE)


def run_worker(environment: dict[str, str]) -> None:
    """A worker process: the test's environment, the fault hook, the job runner until SIGTERM."""
    os.environ.update(environment)
    get_settings.cache_clear()
    PROCESS.reset()  # nothing of the parent's memory
    PROVIDER_ANSWERED[:] = [_die_after_answer]
    worker = build_worker(get_settings(), concurrency=2, shutdown_grace=5.0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    worker.run(stop)
