"""Hybrid search over one index version: dense (FAISS) plus lexical (BM25, stemmed per
language), fused per article and then per topic (the `group` that ties language versions).

The result carries the features the policy turns into a confidence, so what the bot decides
can always be explained from what retrieval saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.cross_language import language_gap
from bot.language import detect_language
from bot.policy import FEATURES
from bot.sections import SectionChoice, SectionChooser, SectionWeights
from ingest.documents import Article, untranslated
from ingest.embed import Embedder, Vectors
from ingest.lexical import tokenize
from ingest.store import IndexVersion

DENSE_K = 96
NEIGHBOURS = 10  # nearest chunks whose topics `agreement` counts
TOPIC_K = 5  # the classifier's likeliest topics that join the ranking


@dataclass(frozen=True)
class Weights:
    """How dense and lexical evidence combine; `supportbot eval --tune` may override them."""

    lexical: dict[str, float] = field(default_factory=lambda: {"en": 0.15, "de": 0.35, "da": 0.35})
    vote: float = 0.3  # share of the mean of an article's best 3 chunks (nearest-neighbour vote)
    classifier: float = 0.5  # weight of the topic classifier's probability, where there is one
    sections: SectionWeights = field(default_factory=SectionWeights)  # which part answers

    @classmethod
    def default(cls, *, classifier: bool = False) -> Weights:
        """Untuned weights; with a topic classifier, those `eval --tune` chose on the sample
        KB (its character n-grams take over much of what BM25 did for German)."""
        if not classifier:
            return cls()
        return cls(lexical={"en": 0.1, "de": 0.0, "da": 0.2}, vote=0.6, classifier=0.3)

    @classmethod
    def from_calibration(cls, data: dict[str, Any] | None, *, classifier: bool = False) -> Weights:
        weights = (data or {}).get("weights") or {}
        default = cls.default(classifier=classifier)
        return cls(
            lexical={**default.lexical, **weights.get("lexical", {})},
            vote=float(weights.get("vote", default.vote)),
            classifier=float(weights.get("classifier", default.classifier)),
            sections=SectionWeights.from_calibration(data),
        )


@dataclass(frozen=True)
class Evidence:
    """Dense hits (chunk rows and cosine similarities, best first), lexical scores per
    article row (relative to the best) and the topic classifier's probabilities per topic
    (its likeliest few; empty without a classifier), for one query."""

    rows: np.ndarray
    sims: np.ndarray
    lexical: dict[int, float]
    topics: dict[str, float] = field(default_factory=dict)
    # For the articles of topics with no version in the query's language: their lexical score
    # in their own language (`bot.cross_language`); empty when every topic has one.
    foreign_lexical: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """One topic as retrieval ranked it, shown in the visitor's language where possible."""

    group: str
    article: Article
    score: float
    dense: float
    lexical: float
    question_match: float
    classifier: float
    section: SectionChoice | None  # the part of `article` that answers (`bot.sections`)
    in_visitor_language: bool


@dataclass(frozen=True)
class Retrieval:
    """The ranked topics for one message, and the features the policy reads."""

    query: str
    lang: str
    candidates: list[Candidate]
    features: dict[str, float]
    index_version: str
    elapsed_ms: float

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Retriever:
    """Searches one loaded index version. Immutable; `bot.serving.IndexHolder` swaps whole
    retrievers. `weights` default to the untuned ones; `bot.serving.Serving.load` passes
    those tuned for the version."""

    def __init__(
        self,
        index: IndexVersion,
        embedder: Embedder,
        *,
        languages: Sequence[str],
        default_language: str,
        weights: Weights | None = None,
        encode_queries: Callable[[Sequence[str]], Vectors] | None = None,
    ):
        self.index = index
        self.embedder = embedder
        # The visitor's question goes through here: the app passes a `bot.batching.QueryBatcher`
        # so questions arriving together are encoded together.
        self.encode_queries = encode_queries or embedder.embed_queries
        self.languages = tuple(languages)
        self.default_language = default_language
        self.classifier = index.classifier
        self.weights = weights or Weights.default(classifier=index.classifier is not None)
        self._groups: dict[str, dict[str, str]] = {}
        for article in index.articles.values():
            self._groups.setdefault(article.group_id, {}).setdefault(article.lang, article.id)
        self._article_ids = list(index.articles)
        self._article_group = [index.articles[a].group_id for a in self._article_ids]
        self._article_lang = [index.articles[a].lang for a in self._article_ids]
        # Per language, the article rows of the topics with no version in it (`bot.cross_language`).
        self._lacking: dict[str, frozenset[int]] = {}
        for lang, groups in untranslated(index.articles.values(), self.languages).items():
            topics = set(groups)
            self._lacking[lang] = frozenset(
                r for r, g in enumerate(self._article_group) if g in topics
            )
        self._group_rows: dict[str, list[int]] = {}  # topic -> its article rows
        for row, group in enumerate(self._article_group):
            self._group_rows.setdefault(group, []).append(row)
        self._vectors = index.vectors()
        self._words: dict[tuple[str, str], frozenset[str]] = {}
        # Editors' tags ("return period") are words of the knowledge base too, though no chunk
        # holds them: a question using one is not asking about something the shop lacks.
        self._tag_words: dict[str, set[str]] = {}
        for article in index.articles.values():
            self._tag_words.setdefault(article.lang, set()).update(
                tokenize(" ".join(article.tags), article.lang)
            )
        # Per article, the rows of its phrasings (title, alternate questions) and of its body
        # sections: split once here, not on every message.
        phrasings: dict[str, list[int]] = {}
        sections: dict[str, list[int]] = {}
        for row, article_row in enumerate(index.chunk_article_rows.tolist()):
            kind = index.chunks[row].kind
            target = sections if kind == "section" else phrasings
            target.setdefault(self._article_ids[article_row], []).append(row)
        self._phrasing_rows = {a: np.asarray(r, dtype=np.int64) for a, r in phrasings.items()}
        self._section_rows = {a: np.asarray(r, dtype=np.int64) for a, r in sections.items()}
        self._rows = {
            a: np.asarray(phrasings.get(a, []) + sections.get(a, []), dtype=np.int64)
            for a in set(phrasings) | set(sections)
        }
        self.sections = SectionChooser(
            index.chunks,
            self._vectors,
            sections=self._section_rows,
            phrasings=self._phrasing_rows,
            lexical=index.lexical,
            weights=self.weights.sections,
        )

    def search(
        self,
        text: str,
        *,
        lang: str | None = None,
        lang_hint: str | None = None,
        limit: int = 5,
    ) -> Retrieval:
        """Topics for `text`, each shown in `lang` where it has a version in it. `lang` is the
        conversation's language, decided by `bot.conversation_language` (names never move
        it); without one, the text's detected language, `lang_hint` when it does not tell."""
        started = time.perf_counter()
        fallback = lang_hint if lang_hint in self.languages else self.default_language
        if lang is None or lang not in self.languages:
            lang = detect_language(text, languages=self.languages, fallback=fallback)
        n_chunks = len(self.index.chunks)
        if n_chunks == 0:
            return Retrieval(text, lang, [], _empty_features(), self.index.name, 0.0)
        query = self.encode_queries([text])
        evidence = self.evidence(text, lang, query)
        ranked = self.fuse(evidence, lang)[:limit]
        candidates = [self._candidate(item, text, lang, query[0], evidence) for item in ranked]
        features = _features(candidates, lang)
        features.update(self._word_evidence(text, lang, candidates))
        features.update(self._neighbour_evidence(evidence, candidates))
        return Retrieval(
            text,
            lang,
            candidates,
            features,
            self.index.name,
            (time.perf_counter() - started) * 1000,
        )

    def evidence(self, text: str, lang: str, query: np.ndarray) -> Evidence:
        """The raw dense and lexical hits for a query, before any weighting."""
        k = min(DENSE_K, len(self.index.chunks))
        sims, rows = self.index.dense.search(query, k)
        found = rows[0] >= 0  # an IVF index marks places it found no chunk for with -1
        return Evidence(
            rows[0][found],
            sims[0][found],
            self._lexical(text, lang),
            self._topics(text, query),
            self._foreign_lexical(text, lang),
        )

    def _foreign_lexical(self, text: str, lang: str) -> dict[int, float]:
        """Lexical scores, each in its own language, of the articles whose topic has no
        version in `lang`; nothing to do (and done) when every topic has one."""
        lacking_rows = self._lacking.get(lang)
        if not lacking_rows:
            return {}
        scores: dict[int, float] = {}
        for other in {self._article_lang[r] for r in lacking_rows}:
            scores.update(
                (a, s) for a, s in self._lexical(text, other).items() if a in lacking_rows
            )
        return scores

    def _topics(self, text: str, query: np.ndarray) -> dict[str, float]:
        """The classifier's likeliest topics with their probabilities."""
        if self.classifier is None:
            return {}
        probs = self.classifier.probabilities([text], query)[0]
        top = np.argsort(probs)[::-1][:TOPIC_K]
        return {self.classifier.topics[i]: float(probs[i]) for i in top}

    def fuse(
        self, evidence: Evidence, lang: str, weights: Weights | None = None
    ) -> list[tuple[float, int, float, float]]:
        """Topics best first, as (score, article row, dense, lexical), each topic once in its
        best-scoring language version."""
        weights = weights or self.weights
        dense = _per_article(
            evidence.rows, evidence.sims, self.index.chunk_article_rows, weights.vote
        )
        floor = float(evidence.sims[-1])  # articles not among the k nearest score at most this
        lacking_rows = self._lacking.get(lang, frozenset())
        gap = (
            language_gap(dense, lang, self._article_lang, self._article_group)
            if lacking_rows
            else 0.0
        )
        w_lex = weights.lexical.get(lang, 0.25)
        w_clf = weights.classifier if evidence.topics else 0.0
        articles = set(dense) | set(evidence.lexical) | set(evidence.foreign_lexical)
        for group in evidence.topics:  # a likely topic competes even without a near chunk
            articles.update(self._group_rows.get(group, ()))
        scored = []
        for a in articles:
            d = dense.get(a, floor)
            lex = evidence.lexical.get(a, 0.0)
            if a in lacking_rows:  # a topic only other languages have (`bot.cross_language`)
                d, lex = d + gap, evidence.foreign_lexical.get(a, 0.0)
            topic = evidence.topics.get(self._article_group[a], 0.0)
            scored.append((d + w_lex * lex + w_clf * topic, a, d, lex))
        best_by_group: dict[str, tuple[float, int, float, float]] = {}
        for item in sorted(scored, reverse=True):
            best_by_group.setdefault(self._article_group[item[1]], item)
        return sorted(best_by_group.values(), reverse=True)

    def group_of_row(self, article_row: int) -> str:
        return self._article_group[article_row]

    def _lexical(self, text: str, lang: str) -> dict[int, float]:
        """Per article: its best BM25 score relative to the best article's."""
        index = self.index.lexical.get(lang)
        if index is None:
            return {}
        rows, scores = index.scores(text)
        if not len(rows):
            return {}
        per_article: dict[int, float] = {}
        for row, score in zip(
            self.index.chunk_article_rows[rows].tolist(), scores.tolist(), strict=True
        ):
            if score > per_article.get(row, 0.0):
                per_article[row] = score
        top = max(per_article.values())
        return {a: s / top for a, s in per_article.items()}

    def _word_evidence(
        self, text: str, lang: str, candidates: Sequence[Candidate]
    ) -> dict[str, float]:
        """Absolute word-level signals the similarity scores lack.

        `coverage`: share of the query's words found in the top article. `oov`: share of the
        query's words the knowledge base never uses at all ("amazon", "kayak", "usa"): the
        clearest sign of a question about something the shop does not cover.
        """
        index = self.index.lexical.get(lang)
        if index is None or not candidates:
            return {"coverage": 0.0, "oov": 1.0, "idf_coverage": 0.0, "idf_oov": 1.0}
        tokens, unknown = index.query_tokens(text)
        unknown = [w for w in unknown if w not in self._tag_words.get(lang, ())]
        words = set(tokens)
        if not words:
            return {"coverage": 0.0, "oov": 0.0, "idf_coverage": 0.0, "idf_oov": 0.0}
        article_words = self._article_words(candidates[0].article.id, lang)
        idf = index.idf()
        rare = max(idf.values(), default=1.0)  # an unknown word is as telling as the rarest
        weight = {w: idf.get(w, rare) for w in words}
        total = sum(weight.values()) or 1.0
        return {
            "coverage": len(words & article_words) / len(words),
            "oov": len(set(unknown)) / len(words),
            "idf_coverage": sum(v for w, v in weight.items() if w in article_words) / total,
            "idf_oov": sum(weight[w] for w in set(unknown)) / total,
        }

    def _neighbour_evidence(
        self, evidence: Evidence, candidates: Sequence[Candidate]
    ) -> dict[str, float]:
        """How the nearest phrasings and sections agree: a question in scope lands among many
        chunks of one topic; one about something else lands among a few of several.

        `agreement`: share of the NEIGHBOURS nearest chunks that belong to the top topic;
        `neighbour_mean`: their mean similarity; `neighbour_gap`: nearest minus the last one.
        """
        rows = evidence.rows[:NEIGHBOURS]
        rows = rows[rows >= 0]
        if not len(rows) or not candidates:
            return {"agreement": 0.0, "neighbour_mean": 0.0, "neighbour_gap": 0.0}
        sims = evidence.sims[: len(rows)]
        article_rows = self.index.chunk_article_rows[rows].tolist()
        top = candidates[0].group
        same = sum(1 for a in article_rows if self._article_group[a] == top)
        return {
            "agreement": same / len(rows),
            "neighbour_mean": float(np.mean(sims)),
            "neighbour_gap": float(sims[0] - sims[-1]),
        }

    def _article_words(self, article_id: str, lang: str) -> frozenset[str]:
        key = (article_id, lang)
        cached = self._words.get(key)
        if cached is None:
            text = " ".join(self.index.chunks[r].embed_text for r in self._rows_of(article_id))
            tags = " ".join(self.index.articles[article_id].tags)
            cached = frozenset(tokenize(f"{text} {tags}", lang))
            self._words[key] = cached
        return cached

    def _candidate(
        self,
        item: tuple[float, int, float, float],
        text: str,
        lang: str,
        query: np.ndarray,
        evidence: Evidence,
    ) -> Candidate:
        score, article_row, d, lex = item
        article = self.index.articles[self._article_ids[article_row]]
        versions = self._groups.get(article.group_id, {})
        shown = self.index.articles[versions[lang]] if lang in versions else article
        question_match = self._best_question_similarity(article.id, query)
        return Candidate(
            group=article.group_id,
            article=shown,
            score=float(score),
            dense=float(d),
            lexical=float(lex),
            question_match=question_match,
            classifier=evidence.topics.get(article.group_id, 0.0),
            section=self.choose_section(shown.id, text, query),
            in_visitor_language=shown.lang == lang,
        )

    def _rows_of(self, article_id: str) -> np.ndarray:
        return self._rows.get(article_id, np.zeros(0, dtype=np.int64))

    def _best_question_similarity(self, article_id: str, query: np.ndarray) -> float:
        return self.sections.phrasing_match(article_id, query)

    def choose_section(self, article_id: str, text: str, query: np.ndarray) -> SectionChoice | None:
        """The part of `article_id` that answers `text` (`bot.sections`); None without a body."""
        article = self.index.articles.get(article_id)
        if article is None:
            return None
        return self.sections.choose(article_id, article.lang, text, query)

    def article_in(self, article_id: str, lang: str) -> Article | None:
        """The version of `article_id`'s topic in `lang`, else the article itself."""
        article = self.index.articles.get(article_id)
        if article is None:
            return None
        version = self._groups.get(article.group_id, {}).get(lang)
        return self.index.articles[version] if version else article

    def embed_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]


def _per_article(
    rows: np.ndarray, sims: np.ndarray, chunk_article_rows: np.ndarray, vote: float
) -> dict[int, float]:
    """Article score = (1 - vote) * best chunk + vote * mean of its best three chunks: one
    lucky chunk counts less than several good ones (nearest-neighbour voting)."""
    hits: dict[int, list[float]] = {}
    for row, sim in zip(rows.tolist(), sims.tolist(), strict=True):
        if row >= 0:
            hits.setdefault(int(chunk_article_rows[row]), []).append(sim)
    result = {}
    for article, values in hits.items():
        top3 = values[:3] + [values[-1]] * max(0, 3 - len(values))
        result[article] = (1 - vote) * values[0] + vote * float(np.mean(top3))
    return result


def _empty_features() -> dict[str, float]:
    return {**dict.fromkeys(FEATURES, 0.0), "second": 0.0}


def _features(candidates: Sequence[Candidate], lang: str) -> dict[str, float]:
    if not candidates:
        return _empty_features()
    top = candidates[0]
    second = candidates[1] if len(candidates) > 1 else None
    return {
        "score": top.score,
        "second": second.score if second else 0.0,
        "margin": top.score - (second.score if second else 0.0),
        "dense": top.dense,
        "dense_margin": top.dense - (second.dense if second else 0.0),
        "lexical": top.lexical,
        "question_match": top.question_match,
        "lang_match": 1.0 if top.in_visitor_language else 0.0,
        "classifier": top.classifier,
        "classifier_margin": top.classifier - (second.classifier if second else 0.0),
    }
