"""A deterministic stand-in for the model, for tests that are about something else."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from ingest.embed.protocol import Vectors, normalise

HASH_MODEL_PREFIX = "hash"


class HashEmbedder:
    """Deterministic bag-of-words vectors: each word gets a SHA-256-seeded random direction.

    Texts sharing words are close, texts sharing none are near-orthogonal: enough for tests of
    ingestion, storage and the API to behave like retrieval, in microseconds and with no model.
    Queries and passages get the same vectors (a symmetric model).
    """

    def __init__(self, dimension: int = 64):
        self._dimension = dimension
        self._cache: dict[str, Vectors] = {}

    @property
    def name(self) -> str:
        return f"{HASH_MODEL_PREFIX}-{self._dimension}"

    @property
    def backend(self) -> str:
        return HASH_MODEL_PREFIX

    @property
    def dimension(self) -> int:
        return self._dimension

    def warm_up(self) -> None:
        """Nothing to load."""

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self._embed(texts)

    def _word(self, word: str) -> Vectors:
        cached = self._cache.get(word)
        if cached is None:
            seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            cached = rng.standard_normal(self._dimension).astype(np.float32)
            self._cache[word] = cached
        return cached

    def _embed(self, texts: Sequence[str]) -> Vectors:
        rows = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                rows[i] += self._word(word)
        return normalise(rows)
