"""The lexical half of hybrid search: BM25 over stemmed words, one index per language.

The English embedding model is weak on German and Danish, so these stemmed word matches carry
those languages; the same `tokenize` runs at ingestion and at query time.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from bm25s.stopwords import STOPWORDS_DANISH, STOPWORDS_EN_PLUS, STOPWORDS_GERMAN

_STEMMERS = {"en": "english", "de": "german", "da": "danish"}
_STOPWORDS = {"en": STOPWORDS_EN_PLUS, "de": STOPWORDS_GERMAN, "da": STOPWORDS_DANISH}
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


@lru_cache(maxsize=1 << 18)  # a knowledge base repeats its words: fold each one once
def _fold(word: str) -> str:
    word = word.replace("ß", "ss").replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode() or word


class Vocabulary:
    """The words of one language's chunks, forgiving about how visitors type.

    A query word counts as known when it is in the vocabulary, one typo away from a word of
    at least five letters ("adgangkode", "imer"), or a compound of known words ("Grußkarte",
    "Firmenanschrift") - German and Danish glue words together far more often than editors and
    visitors agree on where.
    """

    def __init__(self, words: Iterable[str]):
        self.words = frozenset(words)
        self._deletes: dict[str, str] = {}
        for word in self.words:
            if len(word) >= 5:
                for variant in _deletions(word):
                    self._deletes.setdefault(variant, word)

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def resolve(self, token: str) -> list[str] | None:
        """The vocabulary word(s) `token` stands for, or None when it has no match."""
        if token in self.words:
            return [token]
        if len(token) >= 5:
            if token in self._deletes:  # a letter too many
                return [self._deletes[token]]
            for variant in _deletions(token):  # a letter missing, swapped or wrong
                if variant in self.words and len(variant) >= 5:
                    return [variant]
                if variant in self._deletes:
                    return [self._deletes[variant]]
        return self._split(token)

    def _split(self, token: str) -> list[str] | None:
        if len(token) < 7:
            return None
        for cut in range(len(token) - 3, 2, -1):
            head, tail = token[:cut], token[cut:]
            for tail_form in (tail, tail[1:] if tail[0] in "se" else None):  # Fugen-s, -e
                if tail_form and len(tail_form) >= 3 and tail_form in self.words:
                    if head in self.words:
                        return [head, tail_form]
                    if len(tail_form) >= 5:
                        return [tail_form]
        return None


def _is_filler(token: str, lang: str) -> bool:
    """A word too short or too common to name a topic: one or two letters, a number, or a
    stop word with one typo."""
    if len(token) < 3 or token.isdigit():
        return True
    if len(token) < 4:
        return False
    if token in _stopword_deletions(lang) or _deletions(token) & _stopwords(lang):
        return True  # a letter missing or one too many
    return any(  # one letter wrong
        len(w) == len(token) and sum(a != b for a, b in zip(w, token, strict=True)) == 1
        for w in _stopwords(lang)
    )


@lru_cache(maxsize=8)
def _stopword_deletions(lang: str) -> frozenset[str]:
    """Stop words of four letters or more with one letter dropped ("imer" for "immer")."""
    return frozenset(v for w in _stopwords(lang) if len(w) >= 4 for v in _deletions(w))


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass
class LexicalIndex:
    """BM25 over the chunks of one language; `rows` maps its documents to global chunk rows."""

    lang: str
    bm25: Any
    rows: npt.NDArray[np.int64]

    @property
    def vocabulary(self) -> Vocabulary:
        """Every stemmed word this language's chunks use, with typo and compound matching."""
        cached: Vocabulary | None = getattr(self, "_vocabulary", None)
        if cached is None:
            cached = Vocabulary(w for w in self.bm25.vocab_dict if w)
            self._vocabulary = cached
        return cached

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of each word (rare words carry the meaning)."""
        cached: dict[str, float] | None = getattr(self, "_idf", None)
        if cached is None:
            df = np.diff(np.asarray(self.bm25.scores["indptr"]))
            n = float(self.bm25.scores["num_docs"])
            cached = {
                word: float(np.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)))
                for word, i in self.bm25.vocab_dict.items()
                if i < len(df)
            }
            self._idf = cached
        return cached

    def query_tokens(self, text: str) -> tuple[list[str], list[str]]:
        """(the query's words mapped onto this index's vocabulary, the words it lacks).

        Unknown words that say nothing about the topic (a size "m", a number, a misspelt stop
        word such as "imer") are not counted as lacking: they would make an in-scope question
        look out of scope."""
        tokens, unknown = [], []
        for token in tokenize(text, self.lang):
            resolved = self.vocabulary.resolve(token)
            if resolved:
                tokens.extend(resolved)
            else:
                tokens.append(token)
                if not _is_filler(token, self.lang):
                    unknown.append(token)
        return tokens, unknown

    def scores(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """(global chunk rows, BM25 scores) of the chunks that share a word with `text`."""
        tokens, _ = self.query_tokens(text)
        if not tokens:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        hit = np.flatnonzero(scores > 0)
        return self.rows[hit], scores[hit]


TOKENS_FILE = "tokens.txt"


def chunk_tokens(
    texts: Sequence[str], langs: Sequence[str], known: Sequence[list[str] | None] | None = None
) -> list[list[str]]:
    """Each chunk's words; `known` holds those already worked out (unchanged chunks)."""
    result = []
    for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
        words = known[i] if known is not None else None
        result.append(words if words is not None else tokenize(text, lang))
    return result


def write_tokens(path: Path, tokens: Sequence[list[str]]) -> None:
    """One line per chunk, words separated by spaces (a word never holds white space)."""
    path.write_text("".join(" ".join(words) + "\n" for words in tokens), encoding="utf-8")


def read_tokens(path: Path) -> list[list[str]] | None:
    """The chunk words a version was built with, or None for a version without them."""
    if not path.exists():
        return None
    return [line.split() for line in path.read_text(encoding="utf-8").split("\n")[:-1]]


def build_lexical(
    texts: Sequence[str], langs: Sequence[str], tokens: Sequence[list[str]] | None = None
) -> dict[str, LexicalIndex]:
    """One BM25 index per language over the given chunk texts (or their words)."""
    words = tokens if tokens is not None else chunk_tokens(texts, langs)
    by_lang: dict[str, list[int]] = {}
    for row, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(row)
    indexes = {}
    for lang, rows in sorted(by_lang.items()):
        bm25 = bm25s.BM25()
        corpus = [words[r] or [""] for r in rows]
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
