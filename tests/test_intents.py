"""Messages that are not knowledge-base questions: asking for a person, small talk, nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.context import AppContext
from bot.intents import classify, find_email
from bot.models import Handoff
from bot.phrases import PHRASES
from tests.conftest import Visitor


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "can I speak to an agent",
        "I want a real person",
        "can i talk to someone about my order",
        "Mitarbeiter bitte",
        "ich möchte mit einem Menschen sprechen",
        "kann ich mit jemandem sprechen",
        "jeg vil tale med et menneske",
        "menneske",
        "kan jeg snakke med en medarbejder?",
        "I want a real person, when are you open?",
        "can I talk to customer service on saturday",
        "Kundendienst bitte, ich warte seit einer Woche",
    ],
)
def test_asking_for_a_person(text: str) -> None:
    assert classify(text) == "human"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi", "hello"),
        ("Hello there!", "hello"),
        ("guten Morgen", "hello"),
        ("Hallo", "hello"),
        ("hej", "hello"),
        ("goddag", "hello"),
        ("thanks", "thanks"),
        ("thank you so much", "thanks"),
        ("ok thanks", "thanks"),
        ("Danke!", "thanks"),
        ("vielen Dank für Ihre Hilfe", "thanks"),
        ("mange tak", "thanks"),
        ("tusind tak for hjælpen", "thanks"),
        ("bye", "bye"),
        ("Tschüss", "bye"),
        ("farvel", "bye"),
        ("how are you?", "how_are_you"),
        ("wie geht es dir", "how_are_you"),
        ("hvordan går det", "how_are_you"),
        ("are you a bot?", "who_are_you"),
        ("wer bist du", "who_are_you"),
        ("hvem er du", "who_are_you"),
        ("ok", "ok"),
        ("alles klar", "ok"),
    ],
)
def test_small_talk(text: str, intent: str) -> None:
    assert classify(text) == intent


@pytest.mark.parametrize("text", ["", "   ", "???", "1", "?!", "42 !", "a"])
def test_nothing_to_go_on(text: str) -> None:
    assert classify(text) == "empty"


@pytest.mark.parametrize(
    "text",
    [
        "where is my parcel",
        "can a person return a gift?",
        "wo ist mein paket",
        "hvor er min pakke",
        "hi, where is my parcel",
        "thanks but the refund is still not there",
        "how are you shipping to norway",
        # about when the team can be reached: the contact article answers that at any hour
        "bis wann ist der kundendienst erreichbar",
        "is customer service available on saturdays",
        "when are your agents available",
        "hvornår har kundeservice åbent",
    ],
)
def test_real_questions_go_to_the_knowledge_base(text: str) -> None:
    assert classify(text) is None


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("jana@example.com", "jana@example.com"),
        ("it's jana.berg+shop@example.co.uk.", "jana.berg+shop@example.co.uk"),
        ("<jana@example.dk>", "jana@example.dk"),
        ("jana@example", None),
        ("jana at example dot com", None),
        ("@example.com", None),
    ],
)
def test_find_email(text: str, email: str | None) -> None:
    assert find_email(text) == email


# -- through the API --------------------------------------------------------------------------


def handoff_reasons(context: AppContext, conversation_id: str) -> list[str]:
    with context.db.session() as session:
        return list(
            session.scalars(
                select(Handoff.reason)
                .where(Handoff.conversation_id == conversation_id)
                .order_by(Handoff.created_at)
            )
        )


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("talk to a human", "en"),
        ("ich möchte mit einem Menschen sprechen", "de"),
        ("jeg vil tale med et menneske", "da"),
    ],
)
def test_a_request_for_a_person_hands_off_at_once(
    client: TestClient, context: AppContext, text: str, lang: str
) -> None:
    visitor = Visitor(client)

    reply = visitor.say(text)["reply"]

    assert (reply["kind"], reply["lang"], reply["sources"]) == ("handoff", lang, [])
    assert reply["handoff"]["mode"] in ("live", "later", "email")
    assert visitor.messages()["status"] == "waiting"
    assert handoff_reasons(context, visitor.id) == ["visitor_request"]


def test_the_handoff_button_is_a_visitor_request(
    client: TestClient, context: AppContext, visitor: Visitor
) -> None:
    client.post(f"/api/v1/conversations/{visitor.id}/handoff", headers=visitor.headers, json={})

    assert handoff_reasons(context, visitor.id) == ["visitor_request"]


def test_thanks_gets_small_talk(context: AppContext, visitor: Visitor) -> None:
    reply = visitor.say("thanks")["reply"]

    assert (reply["kind"], reply["text"]) == ("smalltalk", PHRASES["en"]["thanks"])
    assert reply["sources"] == []
    assert reply["confidence"] is None
    assert visitor.messages()["status"] == "bot"
    assert handoff_reasons(context, visitor.id) == []


def test_many_thanks_in_a_row_never_hand_off(context: AppContext, visitor: Visitor) -> None:
    for text in ("ok thanks", "vielen Dank für Ihre Hilfe", "tusind tak for hjælpen", "bye"):
        assert visitor.say(text)["reply"]["kind"] == "smalltalk"
    assert handoff_reasons(context, visitor.id) == []


@pytest.mark.parametrize("text", ["???", "1", "..."])
def test_nothing_gets_a_prompt(visitor: Visitor, text: str) -> None:
    reply = visitor.say(text)["reply"]

    assert (reply["kind"], reply["text"]) == ("prompt", PHRASES["en"]["empty"])
    assert reply["sources"] == []
    assert visitor.messages()["status"] == "bot"
