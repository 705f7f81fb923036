"""The index version a process serves: its retriever and the policy tuned with it, as one pair,
swapped whole when ingestion publishes a new version or `supportbot eval --tune` re-tunes the
published one.

Retrieval (`bot.retrieval`) and the decision (`bot.policy`) each read their part of the
version's calibration; this module reads the file once and builds both from that one reading,
so a request never mixes the weights of one calibration with the thresholds of another.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.names import kb_names
from bot.policy import Policy
from bot.retrieval import Retriever, Weights
from ingest.embed import Embedder, Vectors
from ingest.store import IndexMismatch, IndexVersion, Published, load_version, published

log = logging.getLogger(__name__)

# Per model, the calibration an index gets until `supportbot eval --tune` fits one for its own
# knowledge base: the policy's built-in defaults were fitted on all-MiniLM-L6-v2's scores, and
# multilingual-e5-small scores on another scale (untuned it answered 4.9 % wrongly and handed
# off only 72 % of out-of-scope questions on the sample KB).
MODEL_DEFAULTS = Path(__file__).resolve().parent / "calibrations"


def default_calibration(model: str) -> dict[str, Any] | None:
    """The shipped calibration for an index built with `model`, or None (the policy's own)."""
    path = MODEL_DEFAULTS / f"{model}.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True, eq=False)
class Serving:
    """One loaded index version: the retriever over it and the policy tuned for it."""

    retriever: Retriever
    policy: Policy
    calibration: dict[str, Any] | None  # what both were built from; None: untuned defaults
    names: frozenset[str] = frozenset()  # the KB's own names, never a language's evidence

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
        fitted = calibration or default_calibration(version.model)
        classifier = version.classifier is not None
        retriever = Retriever(
            version,
            embedder,
            languages=languages,
            default_language=default_language,
            weights=Weights.from_calibration(fitted, classifier=classifier),
            encode_queries=encode_queries,
        )
        policy = Policy.from_calibration(fitted, classifier=classifier)
        return cls(retriever, policy, calibration, kb_names(version.articles.values()))

    @property
    def index(self) -> IndexVersion:
        return self.retriever.index


class IndexHolder:
    """The `Serving` pair currently in use, replaced whole when the published version changes.

    Requests grab `current` once and keep using it, so a swap never changes the index or the
    thresholds under a request in flight. `refresh()` is cheap when nothing changed (one small
    file read and one stat).

    An index built with another model than `embedder`'s is refused, except one built with
    `legacy`'s: that is the previous default model, and a server whose model was left at the
    default keeps serving such an index with it until the next ingestion re-embeds it. Each
    retriever queries with the model its index was built with.
    """

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        *,
        languages: Sequence[str],
        default_language: str,
        encode_queries: Callable[[Sequence[str]], Vectors] | None = None,
        legacy: Embedder | None = None,
    ):
        self.index_dir = index_dir
        self.embedder = embedder
        self.encode_queries = encode_queries
        self.legacy = legacy
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
                version, embedder = self._load(stamp.version)
            except Exception as exc:  # keep serving the old version; say why in /healthz
                self.last_error = str(exc)
                self._loaded = stamp
                return False
            self._current = Serving.load(
                version,
                embedder,
                languages=self.languages,
                default_language=self.default_language,
                # the micro-batcher encodes with the configured model only
                encode_queries=self.encode_queries if embedder is self.embedder else None,
            )
            self._loaded = stamp
            self.last_error = None
            return True

    def _load(self, name: str) -> tuple[IndexVersion, Embedder]:
        """Version `name` and the embedder to query it with (loaded before it serves)."""
        try:
            return load_version(
                self.index_dir, name, expect_model=self.embedder.name
            ), self.embedder
        except IndexMismatch as refused:
            if self.legacy is None:
                raise
            try:
                version = load_version(self.index_dir, name, expect_model=self.legacy.name)
            except IndexMismatch:
                raise refused from None  # the message names the configured model
        self.legacy.warm_up()
        log.warning(
            "index %s was built with %s: serving it with that model until `supportbot ingest` "
            "re-embeds it with %s",
            name,
            self.legacy.name,
            self.embedder.name,
        )
        return version, self.legacy
