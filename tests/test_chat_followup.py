"""A follow-up ("and to Denmark?") is searched with the conversation's previous question, and
the reply's retrieval details say so; a question of its own is never merged with the last one.
Through the real API, on the sample knowledge base (hash embedder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from bot.models import Message
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings

DELIVERY = "how long does delivery to germany take"


def retrieval_of(reply: dict[str, Any], client: TestClient, visitor: Visitor) -> dict[str, Any]:
    """The stored retrieval details of a bot reply (what the console and the packet read)."""
    context: AppContext = client.app.state.context  # type: ignore[attr-defined]
    with context.db.session() as session:
        message = session.get(Message, reply["id"])
        assert message is not None
        return dict((message.details or {}).get("retrieval") or {})


def test_follow_up_is_searched_with_the_previous_question(
    client: TestClient, visitor: Visitor
) -> None:
    first = visitor.say(DELIVERY)["reply"]
    assert first["kind"] == "answer"
    assert first["sources"][0]["article_id"] == "en/delivery-times-costs"

    second = visitor.say("and to denmark?")["reply"]
    details = retrieval_of(second, client, visitor)
    assert details["rewritten_from"] == DELIVERY
    assert details["query"] == f"{DELIVERY}? and to denmark?"
    assert details["follow_up"]["cue"] == "fragment"
    assert details["follow_up"]["rewritten_confidence"] > details["follow_up"]["bare_confidence"]
    # the delivery topic (or its neighbour on customs, with the hash embedder), not a handoff
    assert second["kind"] in ("answer", "clarify")
    assert second["sources"][0]["article_id"] in (
        "en/delivery-times-costs",
        "en/international-customs",
    )


def test_a_chain_of_follow_ups_carries_the_first_question(
    client: TestClient, visitor: Visitor
) -> None:
    visitor.say("how much is shipping to austria")
    visitor.say("what about sweden")
    third = visitor.say("and finland?")["reply"]
    details = retrieval_of(third, client, visitor)
    assert details["rewritten_from"] == "how much is shipping to austria? what about sweden"
    assert details["query"] == "how much is shipping to austria? what about sweden? and finland?"
    assert third["sources"][0]["article_id"] == "en/delivery-times-costs"


def test_a_question_of_its_own_is_not_merged(client: TestClient, visitor: Visitor) -> None:
    visitor.say(DELIVERY)
    reply = visitor.say("how do i get a return label for my jacket")["reply"]
    details = retrieval_of(reply, client, visitor)
    assert details["query"] == "how do i get a return label for my jacket"
    assert "rewritten_from" not in details
    assert "follow_up" not in details
    assert reply["sources"][0]["article_id"] == "en/returns"


def test_the_first_message_has_nothing_to_lean_on(client: TestClient, visitor: Visitor) -> None:
    reply = visitor.say("and to denmark?")["reply"]
    details = retrieval_of(reply, client, visitor)  # kept with a handoff too
    assert "rewritten_from" not in details
    assert "follow_up" not in details
    assert details["query"] == "and to denmark?"


def test_small_talk_between_keeps_the_previous_question(
    client: TestClient, visitor: Visitor
) -> None:
    visitor.say(DELIVERY)
    assert visitor.say("thanks")["reply"]["kind"] == "smalltalk"
    reply = visitor.say("and to denmark?")["reply"]
    assert retrieval_of(reply, client, visitor)["rewritten_from"] == DELIVERY


@pytest.mark.parametrize(
    ("locale", "first", "follow", "article"),
    [
        ("de", "kann ich mit paypal bezahlen", "und mit klarna?", "de/payment-methods"),
        ("da", "kan jeg betale med mobilepay", "og med klarna?", "da/payment-methods"),
    ],
)
def test_follow_ups_in_german_and_danish(
    client: TestClient, locale: str, first: str, follow: str, article: str
) -> None:
    visitor = Visitor(client, locale=locale)
    assert visitor.say(first)["reply"]["sources"][0]["article_id"] == article
    reply = visitor.say(follow)["reply"]
    details = retrieval_of(reply, client, visitor)
    assert details["rewritten_from"] == first
    assert (reply["kind"], reply["lang"]) == ("answer", locale)
    assert reply["sources"][0]["article_id"] == article


@pytest.fixture
def client_without_context(tmp_path: Path, sample_index: Path) -> Any:
    settings = make_settings(tmp_path, index_dir=sample_index, follow_up_context=False)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as test_client:
        yield test_client


def test_the_setting_turns_it_off(client_without_context: TestClient) -> None:
    visitor = Visitor(client_without_context)
    visitor.say(DELIVERY)
    reply = visitor.say("and to denmark?")["reply"]
    details = retrieval_of(reply, client_without_context, visitor)
    assert details["query"] == "and to denmark?"
    assert "follow_up" not in details
