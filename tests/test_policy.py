"""`decide()`: answer, clarify or hand off, as a table of cases."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from bot.policy import (
    CLASSIFIER_CALIBRATION,
    FEATURES,
    WORD_FEATURES,
    Calibration,
    Decision,
    FeedbackDecision,
    Policy,
    Thresholds,
    decide,
    on_feedback,
)
from bot.serving import default_calibration
from ingest.store import read_calibration, write_calibration

# A calibration that reads the confidence straight from one feature, so each row of the table
# says the confidence it means; the thresholds are pinned here (answer 0.78, clarify 0.5) so the
# table does not move when the product defaults are retuned.
DIRECT = Policy(Calibration(coef={"logit": 1.0}, intercept=0.0),
                Thresholds(answer=0.78, clarify=0.5))


def features(confidence: float) -> dict[str, float]:
    return {"logit": math.log(confidence / (1 - confidence))}


@pytest.mark.parametrize(
    ("confidence", "scores", "misses", "action", "reason", "options"),
    [
        # confident: answer, whatever happened before
        (0.95, [0.9, 0.5], 0, "answer", "confident", 1),
        (0.95, [0.9, 0.89, 0.88], 0, "answer", "confident", 1),
        (0.95, [0.9, 0.5], 3, "answer", "confident", 1),
        (0.78, [0.9], 0, "answer", "confident", 1),
        # torn between close runners-up: offer them (within 0.08 of the top, at most 3)
        (0.6, [0.80, 0.78, 0.75, 0.74], 0, "clarify", "uncertain", 3),
        (0.6, [0.80, 0.78, 0.60], 0, "clarify", "uncertain", 2),
        (0.6, [0.80, 0.73], 0, "clarify", "uncertain", 2),
        # one plausible article: suggest it
        (0.6, [0.80, 0.50], 0, "clarify", "uncertain", 1),
        (0.5, [0.80], 0, "clarify", "uncertain", 1),
        # a second miss in a row goes to a person
        (0.6, [0.80, 0.78], 1, "handoff", "repeated_miss", 0),
        (0.6, [0.80, 0.50], 1, "handoff", "repeated_miss", 0),
        (0.3, [0.80, 0.50], 2, "handoff", "repeated_miss", 0),
        # not confident enough for anything
        (0.3, [0.80, 0.79], 0, "handoff", "low_confidence", 0),
        (0.49, [0.80], 0, "handoff", "low_confidence", 0),
        (0.01, [0.1], 0, "handoff", "low_confidence", 0),
    ],
)
def test_decide(confidence: float, scores: list[float], misses: int, action: str, reason: str,
                options: int) -> None:
    decision = decide(features(confidence), scores=scores, misses=misses, policy=DIRECT)

    assert (decision.action, decision.reason, decision.options) == (action, reason, options)
    assert decision.confidence == pytest.approx(confidence)


@pytest.mark.parametrize("misses", [0, 1])
def test_nothing_retrieved_is_no_index(misses: int) -> None:
    decision = decide(features(0.99), scores=[], misses=misses, policy=DIRECT)

    assert decision == Decision("handoff", 0.0, "no_index", 0)


def test_default_policy_on_strong_and_empty_evidence() -> None:
    strong = {"score": 1.1, "margin": 0.4, "dense": 0.8, "dense_margin": 0.3, "lexical": 1.0,
              "coverage": 1.0, "oov": 0.0, "idf_coverage": 1.0, "idf_oov": 0.0,
              "question_match": 0.9, "lang_match": 1.0}
    empty = dict.fromkeys(FEATURES, 0.0)

    assert decide(strong, scores=[1.1, 0.7], misses=0, policy=Policy()).action == "answer"
    nothing = decide(empty, scores=[0.2, 0.19], misses=0, policy=Policy())
    assert (nothing.action, nothing.reason) == ("handoff", "low_confidence")


def test_confidence_stays_finite_on_extreme_features() -> None:
    calibration = Calibration()

    assert calibration.confidence({"score": 1e9}) == pytest.approx(1.0)
    assert calibration.confidence({"score": -1e9}) == pytest.approx(0.0)
    assert 0.0 < calibration.confidence({}) < 0.5  # no evidence: the intercept alone


def as_calibration(policy: Policy) -> dict[str, object]:
    """The shape `supportbot eval --tune` stores with an index version."""
    return {
        "calibration": {"coef": dict(policy.calibration.coef),
                        "intercept": policy.calibration.intercept},
        "thresholds": {"answer": policy.thresholds.answer,
                       "clarify": policy.thresholds.clarify},
    }


@pytest.mark.parametrize("data", [None, {}])
def test_from_calibration_without_data_is_the_default(data: dict[str, object] | None) -> None:
    assert Policy.from_calibration(data) == Policy()


def test_from_calibration_round_trip_through_the_file(tmp_path: Path) -> None:
    tuned = Policy(
        Calibration(coef={name: 0.1 * i for i, name in enumerate(FEATURES)}, intercept=-1.5),
        Thresholds(answer=0.83, clarify=0.41),
    )

    write_calibration(tmp_path, as_calibration(tuned))
    loaded = Policy.from_calibration(read_calibration(tmp_path))

    assert loaded == tuned
    assert as_calibration(loaded) == as_calibration(tuned)


def test_from_calibration_fills_what_is_missing_with_defaults() -> None:
    loaded = Policy.from_calibration({"thresholds": {"answer": 0.9}})

    assert loaded.thresholds == dataclasses.replace(Thresholds(), answer=0.9)
    assert loaded.calibration == Calibration()


def test_an_index_with_a_classifier_starts_from_the_classifier_defaults() -> None:
    loaded = Policy.from_calibration({"thresholds": {"answer": 0.9}}, classifier=True)

    assert loaded.calibration == CLASSIFIER_CALIBRATION
    assert loaded.thresholds.answer == 0.9
    assert Policy.from_calibration(None, classifier=True) == Policy.default(classifier=True)
    assert set(CLASSIFIER_CALIBRATION.coef) == set(FEATURES)


def test_the_classifier_defaults_need_its_evidence_to_answer() -> None:
    policy = Policy.default(classifier=True)
    strong = {
        "score": 1.3, "margin": 0.5, "dense": 0.8, "dense_margin": 0.3, "lexical": 1.0,
        "coverage": 1.0, "idf_coverage": 1.0, "question_match": 0.85, "lang_match": 1.0,
    }

    sure = decide({**strong, "classifier": 0.95, "classifier_margin": 0.9}, scores=[1.3, 0.8],
                  misses=0, policy=policy)
    unsure = decide({**strong, "classifier": 0.05, "classifier_margin": -0.6},
                    scores=[1.3, 0.8], misses=0, policy=policy)

    assert sure.action == "answer"
    assert unsure.confidence < sure.confidence


def test_tuned_thresholds_change_the_decision() -> None:
    strict = Policy.from_calibration(
        {**as_calibration(DIRECT), "thresholds": {"answer": 0.97, "clarify": 0.9}}
    )

    assert decide(features(0.95), scores=[0.9, 0.5], misses=0, policy=DIRECT).action == "answer"
    decision = decide(features(0.95), scores=[0.9, 0.5], misses=0, policy=strict)
    assert (decision.action, decision.options) == ("clarify", 1)


@pytest.mark.parametrize(
    ("action", "misses", "after"),
    [
        ("answer", 0, 0),
        ("answer", 1, 0),  # an answer starts the count afresh
        ("clarify", 0, 1),  # a clarification is a miss
        ("handoff", 1, 0),  # a person takes over
    ],
)
def test_misses_after_a_decision(action: str, misses: int, after: int) -> None:
    assert Decision(action, 0.5, "x").misses_after(misses) == after  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("helpful", "misses", "expected"),
    [
        (True, 0, FeedbackDecision(False, 0)),
        (True, 1, FeedbackDecision(False, 1)),  # a thumbs-up does not undo a miss
        (False, 0, FeedbackDecision(False, 1)),  # the first miss: the bot tries again
        (False, 1, FeedbackDecision(True, 0, "negative_feedback")),  # the second: a person
    ],
)
def test_feedback_table(helpful: bool, misses: int, expected: FeedbackDecision) -> None:
    assert on_feedback(helpful=helpful, misses=misses) == expected


# A calibration that leans on the question's words, as the fitted ones do.
WORDY = Calibration(
    coef={"dense": 3.0, "idf_coverage": 4.0, "idf_oov": -2.0},
    intercept=-5.0,
    imputed={"idf_coverage": 0.75, "idf_oov": 0.1},
)
FEW_SHARED_WORDS = {"dense": 0.9, "idf_coverage": 0.2, "idf_oov": 0.4}


def test_an_article_in_another_language_reads_its_word_features_as_unknown() -> None:
    cross = WORDY.confidence({**FEW_SHARED_WORDS, "lang_match": 0.0})
    as_if_typical = WORDY.confidence(
        {**FEW_SHARED_WORDS, "idf_coverage": 0.75, "idf_oov": 0.1, "lang_match": 1.0}
    )

    assert cross == pytest.approx(as_if_typical)
    assert cross > WORDY.confidence({**FEW_SHARED_WORDS, "lang_match": 1.0})


def test_an_article_in_the_conversations_language_reads_its_words_as_measured() -> None:
    measured = WORDY.confidence({**FEW_SHARED_WORDS, "lang_match": 1.0})
    untouched = dataclasses.replace(WORDY, imputed={})

    assert measured == pytest.approx(untouched.confidence({**FEW_SHARED_WORDS, "lang_match": 1.0}))
    # A calibration fitted before the means were recorded reads every article as measured.
    assert untouched.confidence({**FEW_SHARED_WORDS, "lang_match": 0.0}) == pytest.approx(measured)


def test_only_word_features_are_imputed_from_a_stored_calibration() -> None:
    data = {"calibration": {"coef": {"dense": 1.0}, "intercept": 0.0,
                            "imputed": {"idf_coverage": 0.7, "dense": 0.99}}}

    loaded = Policy.from_calibration(data)

    assert loaded.calibration.imputed == {"idf_coverage": 0.7}
    assert set(WORD_FEATURES) <= set(FEATURES)


def test_the_shipped_multilingual_calibration_knows_the_mean_word_features() -> None:
    data = default_calibration("multilingual-e5-small")

    imputed = Policy.from_calibration(data).calibration.imputed

    assert set(imputed) == set(WORD_FEATURES)
    assert all(0.0 <= value <= 1.0 for value in imputed.values())
    assert imputed["idf_coverage"] > imputed["idf_oov"]  # answerable questions dominate
