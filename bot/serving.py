"""The index version a process serves: its retriever and the policy tuned with it, as one pair,
swapped whole when ingestion publishes a new version or `supportbot eval --tune` re-tunes the
published one.

Retrieval (`bot.retrieval`) and the decision (`bot.policy`) each read their part of the
version's calibration; this module reads the file once and builds both from that one reading,
so a request never mixes the weights of one calibration with the thresholds of another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.policy import Policy
from bot.retrieval import Retriever, Weights
from ingest.embed import Embedder, Vectors
from ingest.store import IndexVersion, Published, load_version, published


@dataclass(frozen=True, eq=False)
class Serving:
    """One loaded index version: the retriever over it and the policy tuned for it."""

    retriever: Retriever
    policy: Policy
    calibration: dict[str, Any] | None  # what both were built from; None: untuned defaults

    @classmethod
    def load(
        cls,
        version: IndexVersion,
        embedder: Embedder,
        *,
        languages: Sequence[str],
        default_language: str,
        encode_queries: Callable[[Sequence[str]], Vectors] | None = None,
    ) -> Serving:
        calibration = version.calibration()
        classifier = version.classifier is not None
        retriever = Retriever(
            version,
            embedder,
            languages=languages,
            default_language=default_language,
            weights=Weights.from_calibration(calibration, classifier=classifier),
            encode_queries=encode_queries,
        )
        policy = Policy.from_calibration(calibration, classifier=classifier)
        return cls(retriever, policy, calibration)

    @property
    def index(self) -> IndexVersion:
        return self.retriever.index


class IndexHolder:
    """The `Serving` pair currently in use, replaced whole when the published version changes.

    Requests grab `current` once and keep using it, so a swap never changes the index or the
    thresholds under a request in flight. `refresh()` is cheap when nothing changed (one small
    file read and one stat).
    """

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        *,
        languages: Sequence[str],
        default_language: str,
        encode_queries: Callable[[Sequence[str]], Vectors] | None = None,
    ):
        self.index_dir = index_dir
        self.embedder = embedder
        self.encode_queries = encode_queries
        self.languages = tuple(languages)
        self.default_language = default_language
        self._current: Serving | None = None
        self._loaded: Published | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def current(self) -> Serving | None:
        return self._current

    def refresh(self) -> bool:
        """Load the published version if it (or its calibration) is not the one serving;
        True when it swapped."""
        stamp = published(self.index_dir)
        if stamp is None or stamp == self._loaded:
            return False
        with self._lock:
            if stamp == self._loaded:
                return False
            try:
                version = load_version(
                    self.index_dir, stamp.version, expect_model=self.embedder.name
                )
            except Exception as exc:  # keep serving the old version; say why in /healthz
                self.last_error = str(exc)
                self._loaded = stamp
                return False
            self._current = Serving.load(
                version,
                self.embedder,
                languages=self.languages,
                default_language=self.default_language,
                encode_queries=self.encode_queries,
            )
            self._loaded = stamp
            self.last_error = None
            return True
