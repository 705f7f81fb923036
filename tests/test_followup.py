"""Follow-ups that lean on the previous question: the pure rules, as tables."""

from __future__ import annotations

import pytest

from bot.followup import FollowUp, cue_of, follow_up, prefer_rewrite
from bot.policy import Decision


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        # a connective and a few words, in three languages, with politeness before it
        ("and to Denmark?", "fragment"),
        ("und bei paypal?", "fragment"),
        ("gælder det også for sko", "fragment"),
        ("und in die Schweiz?", "fragment"),
        ("und was kostet das?", "fragment"),
        ("danke, und nach Polen?", "fragment"),
        ("og til Norge?", "fragment"),
        # a connective and a bare name: a swap ("and klarna?") or a new topic ("and returns?")
        ("what about sweden", "connective"),
        ("ok and express?", "connective"),
        ("thanks, and how about norway", "connective"),
        ("and returns?", "connective"),
        ("Was ist mit Österreich?", "connective"),
        ("hvad med Sverige?", "connective"),
        ("Hvad så med pakkeshop", "connective"),
        # a connective before a question of its own: maybe a new topic
        ("and how do i return it", "connective"),
        ("und wie ändere ich meine email adresse", "connective"),
        ("was ist wenn sie schon verpackt ist", "connective"),
        ("hvad hvis den allerede er pakket", "connective"),
        # a word that points back, in a short message
        ("what does it cost", "reference"),
        ("how long does that take?", "reference"),
        ("wie lange dauert das", "reference"),
        ("hvad koster det?", "reference"),
        ("can i pay it with paypal", "reference"),
        # a bare fragment
        ("Denmark?", "short"),
        ("nach Dänemark", "short"),
        # questions of their own
        ("how do i return an item", None),
        ("wie lange dauert der Versand nach Österreich", None),
        ("hvornår får jeg mine penge tilbage", None),
        ("can i pay with klarna", None),
        ("gibt es expressversand", None),
        # long enough to say what it means, connective or not
        ("and how long do i have to send back a jacket that does not fit", None),
        # German articles are not references back ("der", "den", "dem")
        ("wo ist der laden", None),
        # "men" is Danish for "but", and English for men: not a connective alone
        ("men jacket sizes", None),
        ("", None),
        ("?", None),
    ],
)
def test_cue(text: str, cue: str | None) -> None:
    assert cue_of(text) == cue


def test_follow_up_puts_the_previous_question_first() -> None:
    result = follow_up("and to Denmark?", "how long does delivery to Germany take?")
    assert result == FollowUp(
        "how long does delivery to Germany take? and to Denmark?",
        "how long does delivery to Germany take?",
        "fragment",
    )


def test_follow_up_ends_the_previous_question_before_the_new_message() -> None:
    result = follow_up("und in die Schweiz?", "was kostet der versand nach österreich")
    assert result is not None
    assert result.query == "was kostet der versand nach österreich? und in die Schweiz?"


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        # a question of its own is never merged with the one before
        ("how do i return an item", "how long does delivery to Germany take?"),
        ("kann ich mit paypal bezahlen", "was kostet der versand nach österreich"),
        # nothing to lean on
        ("and to Denmark?", None),
        ("and to Denmark?", "  "),
    ],
)
def test_no_follow_up(text: str, previous: str | None) -> None:
    assert follow_up(text, previous) is None


def test_a_chain_of_follow_ups_keeps_its_most_recent_part() -> None:
    previous = "how long does delivery to Germany take? " + "and to Denmark? " * 40
    result = follow_up("and to Norway?", previous.strip())
    assert result is not None
    assert result.query.endswith("and to Denmark? and to Norway?")
    assert len(result.query) <= 300 + len(" and to Norway?")
    assert not result.query.startswith(" ")


def answer(confidence: float) -> Decision:
    return Decision("answer", confidence, "confident")


def clarify(confidence: float) -> Decision:
    return Decision("clarify", confidence, "uncertain", 2)


def handoff(confidence: float) -> Decision:
    return Decision("handoff", confidence, "low_confidence", 0)


@pytest.mark.parametrize(
    ("cue", "bare", "rewritten", "use"),
    [
        # the rewritten query finds more: use it
        ("connective", handoff(0.2), answer(0.9), True),
        ("fragment", clarify(0.6), answer(0.9), True),
        ("reference", clarify(0.6), answer(0.85), True),
        ("short", handoff(0.3), answer(0.9), True),
        # the message alone does better: keep it ("and how do i return it?")
        ("connective", answer(0.9), clarify(0.6), False),
        ("reference", answer(0.9), answer(0.9), False),
        # a fragment the bot answers confidently on its own is a new question
        ("short", answer(0.85), answer(0.95), False),
        # a confident answer to a connective follow-up may still gain from the context
        ("connective", answer(0.82), answer(0.95), True),
        # a fragment read with the question before wins when that reading can be answered
        ("fragment", answer(0.98), answer(0.9), True),
        ("fragment", answer(0.98), clarify(0.7), False),
        ("fragment", handoff(0.1), handoff(0.3), True),
        ("fragment", clarify(0.7), handoff(0.3), False),
    ],
)
def test_prefer_rewrite(cue: str, bare: Decision, rewritten: Decision, use: bool) -> None:
    assert prefer_rewrite(cue, bare, rewritten) is use  # type: ignore[arg-type]
