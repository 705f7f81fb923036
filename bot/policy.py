"""Whether to answer, offer choices, or hand off: a pure function of retrieval features and the
conversation so far. No I/O here, so every rule is a line in a table test.

The confidence is a logistic model over retrieval features. Its default coefficients were fitted
on the sample knowledge base's question set; `supportbot eval --tune` refits them (and the two
thresholds) for a knowledge base and stores them with its index version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["answer", "clarify", "handoff"]
FEATURES = (
    "score",
    "margin",
    "dense",
    "dense_margin",
    "lexical",
    "coverage",
    "oov",
    "idf_coverage",
    "idf_oov",
    "question_match",
    "lang_match",
    "classifier",
    "classifier_margin",
    "agreement",
    "neighbour_mean",
    "neighbour_gap",
)
# Features that compare the question's words with the top article's: measured in the
# conversation's language, so they say nothing when the article is in another one.
WORD_FEATURES = ("lexical", "coverage", "oov", "idf_coverage", "idf_oov")


@dataclass(frozen=True)
class Calibration:
    """P(top article is right) = sigmoid(intercept + sum(coef[f] * feature[f]))."""

    coef: Mapping[str, float] = field(
        default_factory=lambda: {
            "score": 0.166,
            "margin": 2.803,
            "dense": 3.7,
            "dense_margin": 4.192,
            "lexical": 0.949,
            "coverage": -0.968,
            "oov": -1.335,
            "idf_coverage": 2.784,
            "idf_oov": -2.33,
            "question_match": 1.882,
            "lang_match": -0.034,
        }
    )
    intercept: float = -4.8
    # The mean of each of WORD_FEATURES over the questions the calibration was fitted on; empty
    # for a calibration fitted before it was recorded.
    imputed: Mapping[str, float] = field(default_factory=dict)

    def confidence(self, features: Mapping[str, float]) -> float:
        """When the top article is in another language than the conversation (the topic has
        no version in it), its word features are unknown rather than low: a Danish question
        shares few words with the English article that answers it, and the Danish vocabulary
        lacks the topic's words. They are then read as their mean over the fitted questions,
        so the language-free features (similarities, phrasings, classifier, neighbours)
        decide. `benchmarks.missing_translations` measures what this does."""
        if features.get("lang_match", 1.0) == 0.0 and self.imputed:
            features = {**features, **self.imputed}
        z = self.intercept + sum(w * features.get(name, 0.0) for name, w in self.coef.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class Thresholds:
    """answer >= `answer`; clarify >= `clarify` (with at least two options); else hand off."""

    answer: float = 0.78
    clarify: float = 0.65
    clarify_options: int = 3
    clarify_window: float = 0.08  # options within this fused score of the top one are offered


# The defaults for an index with a topic classifier (a knowledge base with alternate
# questions): `supportbot eval --tune` on the sample KB's 226 questions with the real model.
# Without a classifier its two features are 0, so those indexes keep the coefficients above.
CLASSIFIER_CALIBRATION = Calibration(
    coef={
        "score": -1.38,
        "margin": 0.544,
        "dense": 2.131,
        "dense_margin": 1.078,
        "lexical": 0.265,
        "coverage": 0.522,
        "oov": -0.754,
        "idf_coverage": 2.819,
        "idf_oov": -1.883,
        "question_match": 1.591,
        "lang_match": -0.179,
        "classifier": 0.62,
        "classifier_margin": 1.555,
        "agreement": 0.373,
        "neighbour_mean": 2.247,
        "neighbour_gap": 2.11,
    },
    intercept=-4.36,
)
CLASSIFIER_THRESHOLDS = Thresholds(answer=0.82, clarify=0.75)


@dataclass(frozen=True)
class Policy:
    calibration: Calibration = field(default_factory=Calibration)
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def default(cls, *, classifier: bool = False) -> Policy:
        """The untuned policy for an index with or without a topic classifier."""
        return cls(CLASSIFIER_CALIBRATION, CLASSIFIER_THRESHOLDS) if classifier else cls()

    @classmethod
    def from_calibration(
        cls, data: Mapping[str, Any] | None, *, classifier: bool = False
    ) -> Policy:
        """The tuned policy stored with an index version, or the defaults."""
        default = cls.default(classifier=classifier)
        if not data:
            return default
        cal = data.get("calibration") or {}
        thr = data.get("thresholds") or {}
        return cls(
            Calibration(
                coef=dict(cal.get("coef", default.calibration.coef)),
                intercept=float(cal.get("intercept", default.calibration.intercept)),
                imputed={
                    f: float(v) for f, v in (cal.get("imputed") or {}).items() if f in WORD_FEATURES
                },
            ),
            Thresholds(
                answer=float(thr.get("answer", default.thresholds.answer)),
                clarify=float(thr.get("clarify", default.thresholds.clarify)),
            ),
        )


@dataclass(frozen=True)
class Decision:
    action: Action
    confidence: float
    reason: str  # confident | uncertain | low_confidence | repeated_miss | no_index
    options: int = 1  # how many articles to show (clarify shows several)

    def misses_after(self, misses: int) -> int:
        """The conversation's miss count after this decision: a clarification is a miss; an
        answer, or a person taking over, starts the count afresh."""
        return misses + 1 if self.action == "clarify" else 0


MISSES_BEFORE_HANDOFF = 2  # a second miss in a row goes to a person, not another guess


@dataclass(frozen=True)
class FeedbackDecision:
    """What a visitor's thumbs on a bot reply leads to."""

    hand_off: bool
    misses: int  # the conversation's miss count afterwards
    reason: str | None = None  # negative_feedback when it hands off


def on_feedback(*, helpful: bool, misses: int) -> FeedbackDecision:
    """A thumbs-down counts as a miss; the second miss in a row (a clarification, another
    thumbs-down) hands off. A thumbs-up changes nothing: it does not undo an earlier miss."""
    if helpful:
        return FeedbackDecision(False, misses)
    misses += 1
    if misses >= MISSES_BEFORE_HANDOFF:
        return FeedbackDecision(True, 0, "negative_feedback")
    return FeedbackDecision(False, misses)


def decide(
    features: Mapping[str, float], *, scores: list[float], misses: int, policy: Policy
) -> Decision:
    """Answer when confident; offer the close runners-up when torn; hand off otherwise.

    `scores` are the fused scores of the ranked candidates; `misses` counts the bot's recent
    failures in this conversation (a clarification, a thumbs-down). A second miss in a row
    goes to a human instead of another round of guessing.
    """
    if not scores:
        return Decision("handoff", 0.0, "no_index", 0)
    confidence = policy.calibration.confidence(features)
    t = policy.thresholds
    if confidence >= t.answer:
        return Decision("answer", confidence, "confident")
    close = [s for s in scores[: t.clarify_options] if scores[0] - s <= t.clarify_window]
    another_miss_hands_off = misses + 1 >= MISSES_BEFORE_HANDOFF
    if confidence >= t.clarify and len(close) >= 2:
        if another_miss_hands_off:
            return Decision("handoff", confidence, "repeated_miss", 0)
        return Decision("clarify", confidence, "uncertain", len(close))
    if confidence >= t.clarify and not another_miss_hands_off:
        # Torn between nothing: one plausible article. Show it, flagged as a suggestion.
        return Decision("clarify", confidence, "uncertain", 1)
    reason = "repeated_miss" if another_miss_hands_off else "low_confidence"
    return Decision("handoff", confidence, reason, 0)
