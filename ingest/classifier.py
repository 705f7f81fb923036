"""A light topic classifier, trained at ingestion from the ways each topic is asked.

Where editors give many alternate questions per article (an FAQ built from real chat logs, or
an intent set), nearest-neighbour search uses each phrasing on its own. A classifier learns
from all of them at once which words and which directions of the embedding space separate
one topic from another. It is a logistic regression over the sentence embedding joined with
TF-IDF word (1-2 gram) and character (2-4 gram) features, so it also catches spelling
variants and the rarer words the small embedding model blurs.

It is optional: a knowledge base with too few phrasings per topic gets none, and retrieval
works as before. It is saved in the index version (plain numbers and a vocabulary, no pickle)
and reused as is when the phrasings did not change.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

CLASSIFIER_DIR = "classifier"
FORMAT = 1
MIN_PHRASINGS_PER_TOPIC = 3.0  # on average: fewer, and a classifier learns nothing kNN lacks
MIN_TOPICS = 2
MIN_PHRASINGS = 50  # in all: below this, nearest neighbours already see everything there is
MAX_TOPICS = 500  # beyond: a weight matrix of 50 MB and more, and minutes to retrain
C = 20.0  # inverse regularisation, chosen on BANKING77 validation questions
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 4)
LARGE_SET = 2000  # from this many phrasings on, features seen once are dropped (noise)


def _vectorizers(n_examples: int) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    min_df = 2 if n_examples >= LARGE_SET else 1
    word = TfidfVectorizer(ngram_range=WORD_NGRAMS, sublinear_tf=True, min_df=min_df)
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=min_df
    )
    return word, char


def _restore(kind: str, vocabulary: dict[str, int], idf: npt.NDArray[Any]) -> TfidfVectorizer:
    ngrams = WORD_NGRAMS if kind == "word" else CHAR_NGRAMS
    analyzer = "word" if kind == "word" else "char_wb"
    vectorizer = TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True, vocabulary=vocabulary
    )
    vectorizer.idf_ = idf
    return vectorizer


@dataclass(frozen=True)
class TopicClassifier:
    """P(topic | question) for the topics (`group` ids) it was trained on."""

    topics: tuple[str, ...]
    word: TfidfVectorizer
    char: TfidfVectorizer
    coef: npt.NDArray[np.float32]  # topics x (dimension + word features + char features)
    intercept: npt.NDArray[np.float32]
    fingerprint: str
    info: dict[str, Any]

    def probabilities(self, texts: Sequence[str], vectors: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """One row per text: the probability of each topic, in `topics` order.

        The same numbers as sklearn's transform and predict_proba, computed directly: for one
        short question the vectorizers' own checks cost ten times the arithmetic."""
        vectors = np.asarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        logits = vectors @ self.coef[:, :dim].T + self.intercept
        offsets = (dim, dim + len(self.word.vocabulary_))
        for row, text in enumerate(texts):
            for (analyzer, vectorizer), offset in zip(self._analyzers, offsets, strict=True):
                columns, values = _tfidf(analyzer(text), vectorizer)
                if len(columns):
                    logits[row] += self.coef[:, columns + offset] @ values
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: npt.NDArray[Any] = exp / exp.sum(axis=1, keepdims=True)
        return result

    @cached_property
    def _analyzers(self) -> tuple[tuple[Callable[[str], list[str]], TfidfVectorizer], ...]:
        return tuple((v.build_analyzer(), v) for v in (self.word, self.char))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / "weights.npz",
            coef=self.coef,
            intercept=self.intercept,
            word_idf=self.word.idf_.astype(np.float32),
            char_idf=self.char.idf_.astype(np.float32),
        )
        meta = {
            "format": FORMAT,
            "topics": list(self.topics),
            "fingerprint": self.fingerprint,
            "word_vocabulary": {k: int(v) for k, v in self.word.vocabulary_.items()},
            "char_vocabulary": {k: int(v) for k, v in self.char.vocabulary_.items()},
            "info": self.info,
        }
        (folder / "classifier.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> TopicClassifier | None:
        """The saved classifier, or None when the version has none (or an older format)."""
        meta_path = folder / "classifier.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            return None
        with np.load(folder / "weights.npz") as weights:
            coef, intercept = weights["coef"], weights["intercept"]
            word_idf, char_idf = weights["word_idf"], weights["char_idf"]
        topics = tuple(meta["topics"])
        width = len(meta["word_vocabulary"]) + len(meta["char_vocabulary"])
        if coef.shape[0] != len(topics) or coef.shape[1] <= width:
            raise ValueError(f"{folder}: classifier weights do not match its vocabulary")
        return cls(
            topics=topics,
            word=_restore("word", meta["word_vocabulary"], word_idf),
            char=_restore("char", meta["char_vocabulary"], char_idf),
            coef=np.ascontiguousarray(coef, dtype=np.float32),
            intercept=np.asarray(intercept, dtype=np.float32),
            fingerprint=str(meta["fingerprint"]),
            info=dict(meta.get("info", {})),
        )


def _tfidf(
    terms: Sequence[str], vectorizer: TfidfVectorizer
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Column indices and l2-normalised sublinear TF-IDF weights of one text's terms."""
    vocabulary = vectorizer.vocabulary_
    counts = Counter(vocabulary[t] for t in terms if t in vocabulary)
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    values = tf * vectorizer.idf_[columns]
    values /= np.linalg.norm(values)
    return columns, values.astype(np.float32)


def _features(
    word: TfidfVectorizer, char: TfidfVectorizer, texts: Sequence[str], vectors: npt.NDArray[Any]
) -> csr_matrix:
    dense = csr_matrix(np.asarray(vectors, dtype=np.float32))
    return hstack([dense, word.transform(texts), char.transform(texts)], format="csr")


def fingerprint(texts: Sequence[str], topics: Sequence[str], model: str) -> str:
    """What the classifier is a function of: same phrasings, same topics, same model."""
    digest = hashlib.sha256(f"{FORMAT}\0{model}\0{C}".encode())
    for text, topic in sorted(zip(texts, topics, strict=True)):
        digest.update(f"{topic}\0{text}\n".encode())
    return digest.hexdigest()


def worth_training(topics: Sequence[str]) -> str | None:
    """None when these phrasings can train a classifier, else why not (for the manifest)."""
    distinct = len(set(topics))
    if distinct < MIN_TOPICS:
        return f"{distinct} topic(s); a classifier needs at least {MIN_TOPICS}"
    if distinct > MAX_TOPICS:
        return f"{distinct} topics; the classifier is trained for at most {MAX_TOPICS}"
    if len(topics) < MIN_PHRASINGS:
        return f"{len(topics)} phrasings; a classifier needs at least {MIN_PHRASINGS}"
    per_topic = len(topics) / distinct
    if per_topic < MIN_PHRASINGS_PER_TOPIC:
        return (
            f"{per_topic:.1f} phrasings per topic on average; add alternate questions "
            f"(at least {MIN_PHRASINGS_PER_TOPIC:.0f} per article) to train one"
        )
    return None


def train(
    texts: Sequence[str], vectors: npt.NDArray[Any], topics: Sequence[str], *, model: str
) -> TopicClassifier:
    """Fit on phrasings (title and alternate questions), each labelled with its topic."""
    started = time.perf_counter()
    names = tuple(sorted(set(topics)))
    index = {name: i for i, name in enumerate(names)}
    labels = np.asarray([index[t] for t in topics], dtype=np.int64)
    word, char = _vectorizers(len(texts))
    word.fit(texts)
    char.fit(texts)
    x = _features(word, char, texts, vectors)
    fitted = LogisticRegression(C=C, max_iter=3000).fit(x, labels)
    coef, intercept = fitted.coef_, fitted.intercept_
    if len(names) == 2:  # sklearn keeps one row for two classes; softmax wants both
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return TopicClassifier(
        topics=names,
        word=word,
        char=char,
        coef=np.ascontiguousarray(coef, dtype=np.float32),
        intercept=np.asarray(intercept, dtype=np.float32),
        fingerprint=fingerprint(texts, topics, model),
        info={
            "phrasings": len(texts),
            "topics": len(names),
            "features": int(x.shape[1]),
            "train_seconds": round(time.perf_counter() - started, 2),
        },
    )
