"""Text embeddings for discovery: WordLlama's 256-dimension model, whose weights ship inside
its wheel (16 MB), loaded from the installed package with downloads disabled so a server
behind a firewall (and every test) runs offline.

The model is kept once per process (``PROCESS``, ``creator.embedding_model``). Resetting the
process memory does not drop it: it is the package's own weights, not a copy of anything in
the database, so no test or operator can see it stale.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tessera.kit.process import PROCESS

DIMENSIONS = 256
Vector = npt.NDArray[np.float32]


class _Model:
    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._model is None:
                import wordllama

                self._model = wordllama.WordLlama.load(
                    config="l2_supercat",
                    dim=DIMENSIONS,
                    cache_dir=Path(wordllama.__file__).parent,
                    disable_download=True,
                )
            return self._model

    def clear(self) -> None:
        """Nothing to forget: the weights are the package's (see the module)."""

    def __len__(self) -> int:
        return 0 if self._model is None else 1


_MODEL = _Model()
PROCESS.keep("creator.embedding_model", _MODEL, "1 model, 16 MB")


def embed(texts: list[str]) -> npt.NDArray[np.float32]:
    """Unit-length vectors, one row per text (an empty text is the zero vector)."""
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    filled = [i for i, text in enumerate(texts) if text.strip()]
    if filled:
        # A text of only unknown tokens (punctuation) is a zero vector divided by its norm.
        with np.errstate(invalid="ignore", divide="ignore"):
            found = _MODEL.get().embed([texts[i] for i in filled], norm=True)
        vectors[filled] = np.nan_to_num(np.asarray(found, dtype=np.float32))
    return vectors


def to_bytes(vector: Vector) -> bytes:
    """Stored as float16 (512 bytes): cosine similarity moves by less than 0.001."""
    return vector.astype(np.float16).tobytes()


def from_bytes(blob: bytes | None) -> Vector:
    if not blob or len(blob) != DIMENSIONS * 2:
        return np.zeros(DIMENSIONS, dtype=np.float32)
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
