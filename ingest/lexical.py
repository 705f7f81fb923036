"""The lexical half of hybrid search: BM25 over stemmed words, one index per language.

Stemmed word matches carry what the vectors miss (product names, order words, typos through
compound splitting); the same `tokenize` runs at ingestion and at query time.

Why one module of a little over 400 lines: tokenising, the saved word counts and the BM25
scores computed from them are one format; split apart, ingestion and search could disagree on
it.
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
import scipy.sparse as sp
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
    """The stop words as written and as typed without special letters ("på" and "paa")."""
    words = [w for w in _STOPWORDS.get(lang, ()) if w not in _KEEP]
    return frozenset(words) | frozenset(_fold(w) for w in words if _fold(w) not in _KEEP)


def tokenize(text: str, lang: str) -> list[str]:
    """Lower-case words, minus stop words, stemmed for `lang`; umlauts and Danish letters
    folded after stemming so "Rueckgabe", "Rückgabe" and "Ruckgabe" meet, and so do "ændre"
    and "aendre", "på" and "paa" (typed without a Danish keyboard)."""
    stop = _stopwords(lang)
    words = [w for w in _WORD.findall(text.lower()) if w not in stop and _fold(w) not in stop]
    stems = _stemmer(lang).stemWords(words)
    return [_fold(s) for s in stems if s]


@lru_cache(maxsize=1 << 18)  # a knowledge base repeats its words: fold each one once
def _fold(word: str) -> str:
    # æ and ø have no ASCII decomposition: without these two, "sælger" folded to "slg".
    word = word.replace("ß", "ss").replace("æ", "a").replace("ø", "o")
    word = word.replace("ae", "a").replace("oe", "o").replace("ue", "u").replace("aa", "a")
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
    counts: TermCounts | None = None  # how it was built; saved so the next publish can reuse it

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


# The saved words carry the tokenizer's version in their file names, and the version is part
# of an index's content hash: after a change to `tokenize`, the next ingestion builds a new
# version and works every chunk's words out anew (vectors are still reused).
TOKENIZER = 2  # raise when `tokenize` changes what it returns
TOKENS_FILE = f"tokens-{TOKENIZER}.txt"


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


# BM25 as bm25s scores it by default (method and idf "lucene"); `bm25_from_counts` builds the
# same score matrix from word counts with array operations instead of a Python loop per chunk.
_K1, _B = 1.5, 0.75
COUNTS_FILE = f"counts-{TOKENIZER}.npz"  # versioned with TOKENS_FILE


@dataclass
class TermCounts:
    """How often each word occurs in each chunk of one language: a sparse chunks x words matrix
    and the words of its columns. A publish keeps the rows of unchanged chunks and counts only
    the new ones; the BM25 statistics (document frequencies, average length) are then worked
    out over the whole matrix at array speed."""

    words: list[str]
    matrix: sp.csr_matrix

    @classmethod
    def count(cls, docs: Sequence[list[str]], words: Sequence[str] = ()) -> TermCounts:
        """Count `docs` (a chunk without words counts as the one word ""), numbering words
        after `words` so the result can be stacked with counts that use those."""
        ids = {w: i for i, w in enumerate(words)}
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        flat: list[int] = []
        for i, doc in enumerate(docs):
            flat.extend(ids.setdefault(w, len(ids)) for w in (doc or [""]))
            indptr[i + 1] = len(flat)
        data = np.ones(len(flat), dtype=np.int32)
        matrix = sp.csr_matrix(
            (data, np.asarray(flat, dtype=np.int32), indptr), shape=(len(docs), len(ids))
        )
        matrix.sum_duplicates()  # repeated words become counts
        return cls(list(ids), matrix)

    def rows(self, rows: npt.NDArray[np.int64]) -> TermCounts:
        return TermCounts(self.words, self.matrix[rows])

    def compact(self) -> TermCounts:
        """Drop words no chunk uses any more (their articles changed or went away)."""
        used = np.bincount(self.matrix.indices, minlength=len(self.words)) > 0
        if used.all():
            return self
        return TermCounts(
            [w for w, u in zip(self.words, used, strict=True) if u], self.matrix[:, used].tocsr()
        )

    def save(self, path: Path) -> None:
        m = self.matrix
        np.savez(
            path, indptr=m.indptr, indices=m.indices, data=m.data, words=np.asarray(self.words)
        )

    @classmethod
    def load(cls, path: Path) -> TermCounts:
        with np.load(path, allow_pickle=False) as f:
            words = [str(w) for w in f["words"]]
            matrix = sp.csr_matrix(
                (f["data"], f["indices"], f["indptr"]), shape=(len(f["indptr"]) - 1, len(words))
            )
        return cls(words, matrix)


def merge_counts(
    tokens: Sequence[list[str]], previous: TermCounts | None, reuse: Sequence[int]
) -> TermCounts:
    """The counts of chunks whose words are `tokens`. Where `reuse[i]` >= 0, chunk i is that
    row of `previous` (an unchanged chunk): its row is copied, not counted again."""
    source = np.asarray(reuse, dtype=np.int64)
    kept = np.flatnonzero(source >= 0) if previous is not None else np.zeros(0, dtype=np.int64)
    fresh = np.setdiff1d(np.arange(len(tokens)), kept)
    known = previous.words if previous is not None else []
    counted = TermCounts.count([tokens[i] for i in fresh], known)
    parts = [counted.matrix]
    if previous is not None and len(kept):
        old = previous.matrix[source[kept]]
        parts.insert(
            0,
            sp.csr_matrix(
                (old.data, old.indices, old.indptr), shape=(len(kept), len(counted.words))
            ),
        )
    stacked = sp.vstack(parts, format="csr")
    position = np.empty(len(tokens), dtype=np.int64)
    position[np.concatenate([kept, fresh])] = np.arange(len(tokens))
    return TermCounts(counted.words, stacked[position]).compact()


def bm25_from_counts(counts: TermCounts) -> Any:
    """A `bm25s.BM25` whose score matrix is the one `bm25s.BM25().index(tokens)` would build
    (method and idf "lucene", k1 1.5, b 0.75), computed from the counts in array operations."""
    m = counts.matrix.tocsr()
    n_docs = m.shape[0]
    lengths = np.asarray(m.sum(axis=1), dtype=np.float64).ravel()
    avg = float(lengths.mean()) if n_docs else 1.0
    df = np.bincount(m.indices, minlength=m.shape[1]).astype(np.float64)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    tf = m.data.astype(np.float64)
    norm = np.repeat(_K1 * ((1 - _B) + _B * lengths / avg), np.diff(m.indptr))
    scores = sp.csr_matrix(
        ((idf[m.indices] * tf / (norm + tf)).astype(np.float32), m.indices, m.indptr),
        shape=m.shape,
    ).tocsc()
    bm25 = bm25s.BM25()
    bm25.scores = {
        "data": scores.data.astype(np.float32),
        "indices": scores.indices.astype(np.int32),
        "indptr": scores.indptr.astype(np.int32),
        "num_docs": n_docs,
    }
    bm25.vocab_dict = {w: i for i, w in enumerate(counts.words)}
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    bm25.nonoccurrence_array = None  # only BM25L and BM25+ have one
    return bm25


def build_lexical(
    texts: Sequence[str],
    langs: Sequence[str],
    tokens: Sequence[list[str]] | None = None,
    previous: dict[str, tuple[TermCounts, npt.NDArray[np.int64]]] | None = None,
    reuse_from: Sequence[int] | None = None,
) -> dict[str, LexicalIndex]:
    """One BM25 index per language over the given chunk texts (or their words).

    With `previous` (a version's counts per language, with the chunk rows they belong to,
    from `load_counts`) and `reuse_from` (per chunk, its row in that version, or -1), the word
    counts of unchanged chunks are copied instead of counted."""
    words = tokens if tokens is not None else chunk_tokens(texts, langs)
    by_lang: dict[str, list[int]] = {}
    for row, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(row)
    indexes = {}
    for lang, rows in sorted(by_lang.items()):
        old_counts, reuse = None, [-1] * len(rows)
        if previous and reuse_from is not None and lang in previous:
            old_counts, old_rows = previous[lang]
            local = {int(g): i for i, g in enumerate(old_rows)}
            reuse = [local.get(reuse_from[r], -1) for r in rows]
        counts = merge_counts([words[r] for r in rows], old_counts, reuse)
        indexes[lang] = LexicalIndex(
            lang, bm25_from_counts(counts), np.asarray(rows, dtype=np.int64), counts
        )
    return indexes


def save_lexical(indexes: dict[str, LexicalIndex], folder: Path) -> None:
    for lang, index in indexes.items():
        target = folder / lang
        target.mkdir(parents=True, exist_ok=True)
        index.bm25.save(str(target), show_progress=False)
        np.save(target / "rows.npy", index.rows)
        if index.counts is not None:
            index.counts.save(target / COUNTS_FILE)
    (folder / "languages.json").write_text(json.dumps(sorted(indexes)), encoding="utf-8")


def load_counts(folder: Path) -> dict[str, tuple[TermCounts, npt.NDArray[np.int64]]] | None:
    """Each language's word counts and the chunk rows they belong to, without loading BM25;
    None for a version saved without them."""
    try:
        langs = json.loads((folder / "languages.json").read_text(encoding="utf-8"))
        return {
            lang: (
                TermCounts.load(folder / lang / COUNTS_FILE),
                np.load(folder / lang / "rows.npy"),
            )
            for lang in langs
        }
    except (OSError, ValueError, KeyError):
        return None


def load_lexical(folder: Path) -> dict[str, LexicalIndex]:
    langs = json.loads((folder / "languages.json").read_text(encoding="utf-8"))
    indexes = {}
    for lang in langs:
        bm25 = bm25s.BM25.load(str(folder / lang), show_progress=False)
        rows = np.load(folder / lang / "rows.npy")
        indexes[lang] = LexicalIndex(lang, bm25, rows)
    return indexes
