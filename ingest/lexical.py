"""The lexical half of hybrid search: BM25 over stemmed words, one index per language.

The English embedding model is weak on German and Danish, so these stemmed word matches carry
those languages; the same `tokenize` runs at ingestion and at query time.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from bm25s.stopwords import STOPWORDS_DANISH, STOPWORDS_EN, STOPWORDS_GERMAN

_STEMMERS = {"en": "english", "de": "german", "da": "danish"}
_STOPWORDS = {"en": STOPWORDS_EN, "de": STOPWORDS_GERMAN, "da": STOPWORDS_DANISH}
_WORD = re.compile(r"\w+", re.UNICODE)
# Question words carry intent ("how", "wo", "hvornår") but stop lists drop them; keep them out
# of the stop list so "wo ist mein paket" and "wann kommt mein paket" can differ.
_KEEP = {
    "how",
    "when",
    "where",
    "why",
    "what",
    "wie",
    "wann",
    "wo",
    "warum",
    "was",
    "hvordan",
    "hvornår",
    "hvor",
    "hvorfor",
    "hvad",
    "not",
    "nicht",
    "kein",
    "ikke",
}


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> Any:
    return Stemmer.Stemmer(_STEMMERS.get(lang, "english"))


@lru_cache(maxsize=8)
def _stopwords(lang: str) -> frozenset[str]:
    return frozenset(w for w in _STOPWORDS.get(lang, ()) if w not in _KEEP)


def tokenize(text: str, lang: str) -> list[str]:
    """Lower-case words, minus stop words, stemmed for `lang`; umlauts folded after stemming so
    "Rueckgabe", "Rückgabe" and "Ruckgabe" meet."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _stopwords(lang)]
    stems = _stemmer(lang).stemWords(words)
    return [_fold(s) for s in stems if s]


def _fold(word: str) -> str:
    word = word.replace("ß", "ss").replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode() or word


@dataclass
class LexicalIndex:
    """BM25 over the chunks of one language; `rows` maps its documents to global chunk rows."""

    lang: str
    bm25: Any
    rows: npt.NDArray[np.int64]

    def scores(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """(global chunk rows, BM25 scores) of the chunks that share a word with `text`."""
        tokens = tokenize(text, self.lang)
        if not tokens:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        hit = np.flatnonzero(scores > 0)
        return self.rows[hit], scores[hit]


def build_lexical(texts: Sequence[str], langs: Sequence[str]) -> dict[str, LexicalIndex]:
    """One BM25 index per language over the given chunk texts."""
    by_lang: dict[str, list[int]] = {}
    for row, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(row)
    indexes = {}
    for lang, rows in sorted(by_lang.items()):
        bm25 = bm25s.BM25()
        corpus = [tokenize(texts[r], lang) or [""] for r in rows]
        bm25.index(corpus, show_progress=False)
        indexes[lang] = LexicalIndex(lang, bm25, np.asarray(rows, dtype=np.int64))
    return indexes


def save_lexical(indexes: dict[str, LexicalIndex], folder: Path) -> None:
    for lang, index in indexes.items():
        target = folder / lang
        target.mkdir(parents=True, exist_ok=True)
        index.bm25.save(str(target), show_progress=False)
        np.save(target / "rows.npy", index.rows)
    (folder / "languages.json").write_text(json.dumps(sorted(indexes)), encoding="utf-8")


def load_lexical(folder: Path) -> dict[str, LexicalIndex]:
    langs = json.loads((folder / "languages.json").read_text(encoding="utf-8"))
    indexes = {}
    for lang in langs:
        bm25 = bm25s.BM25.load(str(folder / lang), show_progress=False)
        rows = np.load(folder / lang / "rows.npy")
        indexes[lang] = LexicalIndex(lang, bm25, rows)
    return indexes
