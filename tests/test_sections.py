"""Which part of an article answers (`bot.sections`): the lead with the steps for the main
task, a side section when it clearly answers better; no model (vectors written by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.sections import (
    SectionChooser,
    SectionEvidence,
    SectionWeights,
    asks_for,
    asks_how_to,
    is_procedure,
    states,
)
from ingest.documents import Chunk

TITLE = "Returning an item"
LEAD = Chunk("en/returns", "section", "You can return items within 30 days of delivery.", (TITLE,))
CONDITIONS = Chunk(
    "en/returns", "section", "- Items must be unworn.\n- Boots may only be tried on indoors.",
    (TITLE, "Return conditions"),
)
STEPS = Chunk(
    "en/returns", "section", "1. Open \"My orders\".\n2. Click \"Return\".\n3. Print the label.",
    (TITLE, "Creating a return label"),
)
AFTER = Chunk(
    "en/returns", "section", "Your refund is sent within 5 working days after the return.",
    (TITLE, "After your return"),
)
CHUNKS = (LEAD, CONDITIONS, STEPS, AFTER)
# The single-part rules alone; `TOGETHER` adds showing the lead with the part asked about.
WEIGHTS = SectionWeights(lexical=0.1, lead=0.02, offset=0.0, together=-1.0)
TOGETHER = SectionWeights(lexical=0.1, lead=0.02, offset=0.0, together=0.03)


def evidence(dense: list[float], phrasing: float, lexical: list[float] | None = None, *,
             about: list[float] | None = None, title: bool = False) -> SectionEvidence:
    """`about`: the best-matching phrasing's cosine to each part (None: no phrasings)."""
    return SectionEvidence(
        chunks=CHUNKS,
        dense=np.asarray(dense),
        lexical=np.asarray(lexical or [0.0] * len(dense)),
        lead=np.asarray([True, False, False, False]),
        steps=np.asarray([False, False, True, False]),
        phrasing=phrasing,
        phrasing_dense=None if about is None else np.asarray(about),
        phrasing_lexical=None if about is None else np.zeros(len(about)),
        title=title,
    )


def test_the_title_matched_best_gets_the_lead_and_the_steps() -> None:
    # "After your return" is the nearest part, but the question is the title's
    choice = evidence([0.80, 0.78, 0.79, 0.82], phrasing=0.90, title=True).pick(WEIGHTS)

    assert choice.chunk == LEAD
    assert choice.steps == STEPS
    assert choice.heading == ""
    assert choice.headings == ["", "Creating a return label"]
    assert choice.rule == "phrasing"


def test_an_alternate_question_matched_best_shows_the_part_it_is_about() -> None:
    # "Can I return boots I have worn?" is about the conditions; the main-task one the lead
    side = evidence([0.80, 0.78, 0.79, 0.82], phrasing=0.95, about=[0.80, 0.90, 0.79, 0.81])
    main = evidence([0.80, 0.78, 0.79, 0.82], phrasing=0.95, about=[0.88, 0.87, 0.80, 0.89])

    assert (side.pick(WEIGHTS).chunk, side.pick(WEIGHTS).steps) == (CONDITIONS, None)
    assert main.pick(WEIGHTS).headings == ["", "Creating a return label"]  # lead prior 0.02


def test_a_phrasing_counts_only_when_it_beats_every_part_by_the_offset() -> None:
    found = evidence([0.79, 0.78, 0.79, 0.82], phrasing=0.85, title=True)

    assert found.pick(WEIGHTS).chunk == LEAD
    offset = SectionWeights(lexical=0.1, lead=0.02, offset=0.05, together=-1.0)
    assert found.pick(offset).chunk == AFTER


def test_without_a_phrasing_match_the_best_part_wins_with_the_lead_prior() -> None:
    near = evidence([0.81, 0.78, 0.79, 0.82], phrasing=0.70, title=True)
    far = evidence([0.79, 0.78, 0.79, 0.82], phrasing=0.70, title=True)

    assert near.pick(WEIGHTS).headings == ["", "Creating a return label"]  # 0.81 + 0.02
    assert far.pick(WEIGHTS).chunk == AFTER
    assert far.pick(WEIGHTS).rule == "section"


def test_words_of_the_question_in_a_section_count() -> None:
    dense = [0.79, 0.81, 0.80, 0.82]
    without = evidence(dense, phrasing=0.70).pick(WEIGHTS)
    with_words = evidence(dense, phrasing=0.70, lexical=[0.0, 0.5, 0.0, 0.0]).pick(WEIGHTS)

    assert without.chunk == AFTER
    assert with_words.chunk == CONDITIONS


def test_an_article_without_steps_shows_the_lead_alone() -> None:
    plain = SectionEvidence(
        chunks=(LEAD, CONDITIONS), dense=np.asarray([0.8, 0.79]), lexical=np.zeros(2),
        lead=np.asarray([True, False]), steps=np.asarray([False, False]), phrasing=0.9,
        title=True,
    )

    choice = plain.pick(WEIGHTS)

    assert (choice.chunk, choice.steps) == (LEAD, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Log in.\n2. Open orders.", True),
        ("  1) Log in.\n  2) Open orders.", True),
        ("1. Only one step.", False),
        ("- a\n- b", False),
        ("Costs 2. Then 3. more", False),
    ],
)
def test_a_procedure_is_two_numbered_lines(text: str, expected: bool) -> None:
    assert is_procedure(text) is expected


def test_weights_come_from_the_calibration_with_defaults_for_the_rest() -> None:
    weights = SectionWeights.from_calibration({"sections": {"lexical": 0.3, "offset": 0.1,
                                                            "in_sample": 0.9,
                                                            "main_task": 0.5}})

    assert weights == SectionWeights(lexical=0.3, offset=0.1)
    assert SectionWeights.from_calibration(None) == SectionWeights()


def test_the_chooser_scores_an_articles_sections_against_the_question() -> None:
    # rows 0-1 phrasings, rows 2-5 sections; unit vectors so the cosine is the dot product
    phrasing = Chunk("en/returns", "title", TITLE, (TITLE,))
    chunks = [phrasing, Chunk("en/returns", "question", "How do I send it back?", (TITLE,)),
              *CHUNKS]
    vectors = np.eye(6, dtype=np.float32)
    query = np.zeros(6, dtype=np.float32)
    query[3] = 1.0  # the question is the conditions section, and far from every phrasing
    chooser = SectionChooser(
        chunks, vectors,
        sections={"en/returns": np.arange(2, 6)},
        phrasings={"en/returns": np.arange(0, 2)},
        lexical={},
        weights=WEIGHTS,
    )

    choice = chooser.choose("en/returns", "en", "which boots can't I return?", query)
    found = chooser.evidence("en/returns", "en", "which boots can't I return?", query)

    assert choice is not None and choice.chunk == CONDITIONS
    assert found is not None
    assert found.phrasing == 0.0 and found.title  # the title ties the question and wins ties
    assert found.phrasing_dense is not None and not found.phrasing_dense.any()
    assert found.lexical[1] > 0  # "boots" (and "return") is in the conditions
    assert found.lexical[1] > found.lexical[3]  # only "return" is in "After your return"
    assert chooser.choose("en/other", "en", "anything", query) is None


def test_the_shipped_e5_calibration_carries_the_section_weights_tune_chose() -> None:
    from bot.retrieval import Weights
    from bot.serving import default_calibration

    shipped = default_calibration("multilingual-e5-small")
    assert shipped is not None

    weights = Weights.from_calibration(shipped, classifier=True).sections

    assert weights.to_json() == {k: shipped["sections"][k] for k in weights.to_json()}
    assert set(shipped["sections"]["cross_validated"]) == {"all", "en", "de", "da"}


def no_steps(dense: list[float], lexical: list[float] | None = None) -> SectionEvidence:
    """An article without a procedure (the delivery-times article, say)."""
    plain = evidence(dense, phrasing=0.70, lexical=lexical)
    return SectionEvidence(
        chunks=plain.chunks, dense=plain.dense, lexical=plain.lexical, lead=plain.lead,
        steps=np.zeros(len(dense), dtype=bool), phrasing=plain.phrasing,
    )


def test_a_part_scoring_like_the_lead_is_shown_after_it() -> None:
    # "wie lange dauert die Lieferung nach Österreich?": the lead names the countries, the
    # table the days; they score alike, so the answer shows both
    choice = no_steps([0.84, 0.80, 0.79, 0.86]).pick(TOGETHER)  # 0.86 vs 0.84 + 0.02

    assert (choice.chunk, choice.steps) == (LEAD, AFTER)
    assert choice.headings == ["", "After your return"]
    assert choice.rule == "together"


def test_a_part_clearly_better_than_the_lead_is_shown_alone() -> None:
    choice = no_steps([0.80, 0.78, 0.79, 0.88]).pick(TOGETHER)  # 0.88 vs 0.82: 0.06 apart

    assert (choice.chunk, choice.steps) == (AFTER, None)


def test_a_lead_clearly_better_than_every_part_is_shown_alone() -> None:
    choice = no_steps([0.90, 0.78, 0.79, 0.82]).pick(TOGETHER)

    assert (choice.chunk, choice.steps) == (LEAD, None)


def test_together_never_replaces_the_steps_of_the_main_task() -> None:
    choice = evidence([0.84, 0.80, 0.79, 0.86], phrasing=0.95, title=True).pick(TOGETHER)

    assert choice.headings == ["", "Creating a return label"]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("how do I return my jacket?", "en", True),
        ("how to return boots", "en", True),
        ("how long do I have to return an item?", "en", False),
        ("how much does a return cost", "en", False),
        ("wie kann ich etwas zurücksenden", "de", True),
        ("wie lange dauert die Lieferung nach Österreich?", "de", False),
        ("hvordan returnerer jeg en vare?", "da", True),
        ("what can't I return", "en", False),
    ],
)
def test_questions_asking_how_to_do_something(text: str, lang: str, expected: bool) -> None:
    assert asks_how_to(text, lang) is expected


def how_to(dense: list[float]) -> SectionEvidence:
    plain = evidence(dense, phrasing=0.70)
    return SectionEvidence(
        chunks=plain.chunks, dense=plain.dense, lexical=plain.lexical, lead=plain.lead,
        steps=plain.steps, phrasing=plain.phrasing, how_to=True,
    )


def test_a_how_to_question_gets_the_lead_and_the_steps_when_they_score_alike() -> None:
    # e5 on "how do I return my jacket?": conditions 0.886, steps 0.885
    choice = how_to([0.867, 0.886, 0.885, 0.877]).pick(TOGETHER)

    assert choice.headings == ["", "Creating a return label"]
    assert choice.rule == "how_to"


def test_a_how_to_question_about_a_side_matter_keeps_that_part() -> None:
    choice = how_to([0.80, 0.90, 0.82, 0.81]).pick(TOGETHER)  # steps 0.08 behind

    assert choice.headings == ["Return conditions"]


@pytest.mark.parametrize(
    ("text", "lang", "kinds"),
    [
        ("wie lange dauert die Lieferung nach Österreich?", "de", ["duration"]),
        ("how long does delivery to sweden take", "en", ["duration"]),
        ("hvor lang tid tager levering til norge", "da", ["duration"]),
        ("how much is shipping within germany", "en", ["price"]),
        ("was kostet der Versand nach Österreich?", "de", ["price"]),
        ("hvad koster fragt i danmark", "da", ["price"]),
        ("ab wann ist der versand kostenlos", "de", []),  # a threshold, not a time span
        ("how do I return my jacket?", "en", []),
        ("how long does delivery take", "xx", []),  # a language without patterns
    ],
)
def test_the_kind_of_fact_a_question_asks_for(text: str, lang: str, kinds: list[str]) -> None:
    assert asks_for(text, lang) == kinds


@pytest.mark.parametrize(
    ("kinds", "text", "expected"),
    [
        (["duration"], "**Österreich, Niederlande:** 2–4 Werktage, 6,95 €.", True),
        (["duration"], "Danmark: 1-3 hverdage, 39 kr.", True),
        (["duration"], "We ship with DHL to Germany and Austria.", False),
        (["price"], "Express costs EUR 12.95.", True),
        (["price"], "Versandkostenfrei ab 60 €.", True),
        (["price"], "Returns are free within 30 days.", False),
    ],
)
def test_a_part_states_the_fact_asked_for(kinds: list[str], text: str, expected: bool) -> None:
    assert states(kinds, text) is expected


def test_the_part_that_states_the_fact_asked_for_wins_a_near_tie() -> None:
    # e5 on "wie lange dauert die Lieferung nach Österreich?": the carriers part 0.883 (it names
    # Austria), the delivery-times table 0.881; only the table states a time span.
    plain = evidence([0.80, 0.881, 0.70, 0.883], phrasing=0.70)
    asked = SectionEvidence(
        chunks=plain.chunks, dense=plain.dense, lexical=plain.lexical, lead=plain.lead,
        steps=plain.steps, phrasing=plain.phrasing, fact=np.asarray([0.0, 1.0, 0.0, 0.0]),
    )

    assert plain.pick(WEIGHTS).chunk == CHUNKS[3]
    assert asked.pick(WEIGHTS).chunk == CHUNKS[1]
