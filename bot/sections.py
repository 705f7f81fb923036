"""Which part of an article answers the question: the lead (with the article's steps, when it
has a procedure) or one of its sections.

A question about the article's main task ("how do I return my jacket?") is answered by the
lead, whose first sentences carry the key facts (30 days, free label), plus the numbered steps;
a question about a side matter ("can I return worn boots?") by the section about it.

When the question is closer to one of the article's own phrasings (title, alternate questions)
than to any section, by at least `offset` (phrasings are embedded as questions, sections as
passages: the two scales differ), it asks what that phrasing asks: the title is the main task
(the lead), and an alternate question is about the part it is closest to itself ("warum hab ich
zwei Sendungsnummern?" is about split deliveries, "Wo ist mein Paket?" about the lead).
Otherwise each part is scored against the question. Both times a part scores

    cosine + lexical * (share of the words found in its heading and text) [+ lead, for the lead]
           [+ FACT_WEIGHT, when it states the kind of fact the question asks for: a time span
            for "how long", a price for "how much" (`asks_for`)]

where the words weigh their idf times how few of the article's parts use them.

A question asking how to do something ("how do I", "wie kann ich", "hvordan") gets the lead and
the steps when the steps score within `together` of the best part: e5 cannot tell a procedure
from a side section by similarity alone. And when the lead and the best other part score within
`together` of each other, both are shown, the lead first: the key facts, then the detail asked
about. The four numbers are chosen on labelled questions with cross-validation (`supportbot
eval --tune`, `bot.tuning.tune_sections`) and stored in the calibration under "sections".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.documents import Chunk
from ingest.lexical import LexicalIndex, tokenize

_NUMBERED = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)
# A question that asks for the way to do something ("how do I return my jacket?", "wie kann
# ich zurücksenden", "hvordan returnerer jeg"): its answer is the article's procedure, which
# e5 cannot tell from a side section by similarity (0.883 against 0.883 on the returns
# article). Not "how long" / "wie lange" / "how much": those ask for a fact.
_HOW_TO = {
    "en": re.compile(r"\bhow (?:do|can|should|would|to)\b(?! much| many| long)", re.IGNORECASE),
    "de": re.compile(
        r"\bwie (?:kann|können|muss|soll|mache|macht|geht|funktioniert|bekomme|erstelle)\b",
        re.IGNORECASE,
    ),
    "da": re.compile(r"\bhvordan\b", re.IGNORECASE),
}


# A question that asks for a fact of one kind (how long, how much) is answered by the part that
# states one: "wie lange dauert die Lieferung nach Österreich?" by the delivery-times table
# (2–4 Werktage), not the carriers section, which names Austria as well (0.881 against 0.883).
_ASKS = {  # compiled below
    "duration": {
        "en": r"\bhow (?:long|many days|many weeks)\b|\bwhen will\b",
        "de": r"\bwie lange?\b|\bwie viele (?:tage|wochen)\b|\bwann kommt\b",
        "da": r"\bhvor (?:lang tid|længe|mange dage)\b|\bhvornår\b",
    },
    "price": {
        "en": r"\bhow much\b|\bcost",
        "de": r"\bwas kostet\b|\bwie viel\b|\bkosten\b|\bgebühr",
        "da": r"\bhvad koster\b|\bhvor meget\b|\bpris",
    },
}
_STATES = {
    "duration": re.compile(
        r"\d+\s*(?:[–-]\s*\d+\s*)?(?:working days?|business days?|days?|weeks?|hours?|"
        r"werktage?n?|tage?n?|wochen?|stunden?|hverdage|dage|uger|timer)\b",
        re.IGNORECASE,
    ),
    "price": re.compile(r"\d[\d.,]*\s*(?:€|eur\b|dkk\b|kr\.?)|(?:€|eur|dkk)\s*\d", re.IGNORECASE),
}


_ASKING = {
    kind: {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in by_lang.items()}
    for kind, by_lang in _ASKS.items()
}


def asks_for(text: str, lang: str) -> list[str]:
    """The kinds of fact `text` asks for ("duration", "price"); empty for any other question."""
    return [
        kind
        for kind, by_lang in _ASKING.items()
        if lang in by_lang and by_lang[lang].search(text) is not None
    ]


def states(kinds: Sequence[str], text: str) -> bool:
    """Whether `text` states a fact of one of `kinds` (a time span, a price)."""
    return any(_STATES[kind].search(text) for kind in kinds)


def asks_how_to(text: str, lang: str) -> bool:
    """Whether `text` asks how to do something (see `_HOW_TO`)."""
    pattern = _HOW_TO.get(lang)
    return pattern is not None and pattern.search(text) is not None


# What a part that states the fact asked for (`asks_for`) scores more: e5 places an article's
# sections within 0.01-0.03 of each other; 0.005, 0.01 and 0.02 give the same choices on the
# sample knowledge base's 410 labelled questions.
FACT_WEIGHT = 0.01


@dataclass(frozen=True)
class SectionWeights:
    """The chooser's four numbers (see the module docstring); the defaults are what `--tune`
    chose on the sample knowledge base's labelled questions with multilingual-e5-small."""

    lexical: float = 0.03
    lead: float = 0.0
    offset: float = 0.1
    # The lead and the best other part are shown together when they score within this of each
    # other: the lead's key facts and the detail asked about ("Lieferung nach Österreich":
    # the countries' lead and the delivery-times table). Negative: never.
    together: float = 0.04

    @classmethod
    def from_calibration(cls, data: Mapping[str, Any] | None) -> SectionWeights:
        chosen = (data or {}).get("sections") or {}
        default = cls()
        return cls(
            **{
                name: float(chosen.get(name, getattr(default, name)))
                for name in ("lexical", "lead", "offset", "together")
            }
        )

    def to_json(self) -> dict[str, float]:
        return {
            "lexical": self.lexical,
            "lead": self.lead,
            "offset": self.offset,
            "together": self.together,
        }


@dataclass(frozen=True)
class SectionEvidence:
    """Per body chunk of one article: its cosine to the question, the lexical share, whether it
    is (part of) the lead and whether it holds numbered steps; the question's best cosine to
    the article's phrasings and, for that phrasing, its cosine to each chunk and the share of
    its words each chunk has (`title`: the best phrasing is the title). Computed once per
    question; `pick` is cheap for any weights."""

    chunks: tuple[Chunk, ...]
    dense: np.ndarray
    lexical: np.ndarray
    lead: np.ndarray
    steps: np.ndarray
    phrasing: float
    phrasing_dense: np.ndarray | None = None
    phrasing_lexical: np.ndarray | None = None
    title: bool = False
    how_to: bool = False  # the question asks how to do something (`asks_how_to`)
    # Per chunk, 1 when it states the kind of fact the question asks for (`asks_for`).
    fact: np.ndarray | None = None

    def scores(self, weights: SectionWeights) -> np.ndarray:
        scores = self.dense + weights.lexical * self.lexical + weights.lead * self.lead
        return scores if self.fact is None else scores + FACT_WEIGHT * self.fact

    def pick(self, weights: SectionWeights) -> SectionChoice:
        scores = self.scores(weights)
        best = int(np.argmax(scores))
        rule = "section"
        if self.phrasing - float(self.dense.max()) >= weights.offset:  # asks what a phrasing asks
            rule = "phrasing"
            if self.title and self.lead.any():
                best = int(np.flatnonzero(self.lead)[0])
            elif self.phrasing_dense is not None and self.phrasing_lexical is not None:
                about = (
                    self.phrasing_dense
                    + weights.lexical * self.phrasing_lexical
                    + weights.lead * self.lead
                )
                best = int(np.argmax(about))
        steps = None
        if self.how_to and self.steps.any() and self.lead.any():
            procedure = np.flatnonzero(self.steps)
            if float(scores[procedure].max()) >= float(scores.max()) - max(weights.together, 0):
                best, rule = int(np.flatnonzero(self.lead)[0]), "how_to"  # lead, then steps
        if self.lead[best] and self.steps.any():
            procedure = np.flatnonzero(self.steps)
            steps = self.chunks[int(procedure[np.argmax(scores[procedure])])]
        elif weights.together >= 0 and self.lead.any() and not self.lead.all():
            lead = int(np.flatnonzero(self.lead)[0])
            others = np.flatnonzero(~self.lead)
            other = int(others[np.argmax(scores[others])]) if self.lead[best] else best
            if abs(float(scores[other] - scores[lead])) <= weights.together:
                best, steps, rule = lead, self.chunks[other], "together"
        evidence = {"score": round(float(scores[best]), 4), "phrasing": round(self.phrasing, 4)}
        return SectionChoice(self.chunks[best], steps, evidence, rule)


@dataclass(frozen=True)
class SectionChoice:
    """The section shown (`chunk`) and, when that is the lead, the part shown after it
    (`steps`): the article's procedure, or the part the question is about when it scores as
    well as the lead (rule "together")."""

    chunk: Chunk
    steps: Chunk | None = None
    evidence: Mapping[str, float] | None = None
    rule: str = "section"  # or "phrasing" (the part the matched phrasing is about), "how_to",
    # "together"

    @property
    def heading(self) -> str:
        """The shown section's heading; "" for the lead."""
        return section_heading(self.chunk)

    @property
    def headings(self) -> list[str]:
        """Every heading the answer shows ("" for the lead), the steps' last."""
        shown = [self.heading]
        if self.steps is not None:
            shown.append(section_heading(self.steps))
        return shown


def section_heading(chunk: Chunk) -> str:
    """A body chunk's own heading; "" for the lead (the text under the title)."""
    return chunk.heading_path[-1] if len(chunk.heading_path) > 1 else ""


def is_procedure(text: str) -> bool:
    """Numbered steps: at least two lines starting "1." / "2)"."""
    return len(_NUMBERED.findall(text)) >= 2


class SectionChooser:
    """Scores the body chunks of an article against a question (see the module docstring).

    `sections` and `phrasings` map an article id to its chunk rows in `vectors`."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        *,
        sections: Mapping[str, np.ndarray],
        phrasings: Mapping[str, np.ndarray],
        lexical: Mapping[str, LexicalIndex],
        weights: SectionWeights | None = None,
    ):
        self.chunks = chunks
        self.vectors = vectors
        self.sections = sections
        self.phrasings = phrasings
        self.lexical = lexical
        self.weights = weights or SectionWeights()
        self._words: dict[int, frozenset[str]] = {}
        # What each article's parts are (the lead? numbered steps?) does not change between
        # questions: worked out once here, not for every candidate of every message.
        self._parts: dict[str, tuple[tuple[Chunk, ...], np.ndarray, np.ndarray]] = {}
        for article_id, rows in sections.items():
            parts = tuple(chunks[r] for r in rows.tolist())
            self._parts[article_id] = (
                parts,
                np.asarray([not section_heading(c) for c in parts], dtype=bool),
                np.asarray([is_procedure(c.text) for c in parts], dtype=bool),
            )
        # Which parts state a time span or a price (`states`), per kind: likewise fixed.
        self._facts = {
            article_id: {
                kind: np.asarray([1.0 if states([kind], c.text) else 0.0 for c in parts])
                for kind in _STATES
            }
            for article_id, (parts, _, _) in self._parts.items()
        }

    def choose(
        self, article_id: str, lang: str, text: str, query: np.ndarray
    ) -> SectionChoice | None:
        """The part of `article_id` (written in `lang`) that answers `text`, or None when the
        article has no body sections."""
        evidence = self.evidence(article_id, lang, text, query)
        return evidence.pick(self.weights) if evidence is not None else None

    def evidence(
        self, article_id: str, lang: str, text: str, query: np.ndarray
    ) -> SectionEvidence | None:
        rows = self.sections.get(article_id)
        if rows is None or not len(rows):
            return None
        chunks, lead, steps = self._parts[article_id]
        dense = self.vectors[rows] @ query
        phrasing_rows = self.phrasings.get(article_id)
        extra: dict[str, Any] = {"phrasing": 0.0}
        if phrasing_rows is not None and len(phrasing_rows):
            sims = self.vectors[phrasing_rows] @ query
            nearest = int(phrasing_rows[int(np.argmax(sims))])
            phrasing = self.chunks[nearest]
            words = set(tokenize(phrasing.text, lang))
            extra = {
                "phrasing": float(np.max(sims)),
                "phrasing_dense": np.asarray(self.vectors[rows] @ self.vectors[nearest]),
                "phrasing_lexical": np.asarray(
                    [
                        len(words & self._chunk_words(r, lang)) / len(words) if words else 0.0
                        for r in rows.tolist()
                    ]
                ),
                "title": phrasing.kind == "title",
            }
        return SectionEvidence(
            chunks=chunks,
            dense=np.asarray(dense, dtype=np.float64),
            lexical=self._lexical(rows, lang, text),
            lead=lead,
            steps=steps,
            how_to=asks_how_to(text, lang),
            fact=self._fact_mask(article_id, asks_for(text, lang)),
            **extra,
        )

    def _fact_mask(self, article_id: str, kinds: Sequence[str]) -> np.ndarray | None:
        """Per part of `article_id`, 1 when it states a fact of one of `kinds`; None for none."""
        if not kinds:
            return None
        masks = self._facts[article_id]
        return np.maximum.reduce([masks[kind] for kind in kinds])

    def phrasing_match(self, article_id: str, query: np.ndarray) -> float:
        """The question's best cosine to the article's title and alternate questions."""
        rows = self.phrasings.get(article_id)
        if rows is None or not len(rows):
            return 0.0
        return float(np.max(self.vectors[rows] @ query))

    def _lexical(self, rows: np.ndarray, lang: str, text: str) -> np.ndarray:
        """Per chunk, the weighted share of the question's words in its heading and text. A
        word weighs its idf in the knowledge base times how few of the article's chunks use it:
        "return" in every section of the returns article tells no section from another."""
        index = self.lexical.get(lang)
        if index is not None:
            tokens, _ = index.query_tokens(text)
            idf = index.idf()
        else:
            tokens, idf = tokenize(text, lang), {}
        words = set(tokens)
        if not words:
            return np.zeros(len(rows))
        chunk_words = [self._chunk_words(r, lang) for r in rows.tolist()]
        rare = max(idf.values(), default=1.0)
        weight = {
            w: idf.get(w, rare) * (1 - sum(w in c for c in chunk_words) / (len(rows) + 1))
            for w in words
        }
        total = sum(weight.values()) or 1.0
        return np.asarray(
            [sum(v for w, v in weight.items() if w in c) / total for c in chunk_words]
        )

    def _chunk_words(self, row: int, lang: str) -> frozenset[str]:
        cached = self._words.get(row)
        if cached is None:
            chunk = self.chunks[row]
            cached = frozenset(tokenize(f"{section_heading(chunk)}\n{chunk.text}", lang))
            self._words[row] = cached
        return cached
