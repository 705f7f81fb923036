"""The conversation's states: bot → waiting (handed off) → closed → bot again, and the misses
that send a chat to a person."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.context import AppContext
from bot.models import Conversation, Handoff, utcnow
from bot.phrases import PHRASES
from tests.conftest import Visitor

# With the hash embedder on the sample knowledge base these land in the "torn" zone.
UNCERTAIN = "wheres my parcel"
UNCERTAIN_TOO = "how do i measure my feet for hiking boots"
CLEAR = "how do i return an item"


def handoff_reasons(context: AppContext, conversation_id: str) -> list[str]:
    with context.db.session() as session:
        return list(session.scalars(
            select(Handoff.reason).where(Handoff.conversation_id == conversation_id)
            .order_by(Handoff.created_at)))


def close_in_db(context: AppContext, conversation_id: str, *, misses: int = 0) -> None:
    """What an agent's "resolve" leaves behind (the console is someone else's)."""
    with context.db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status = "closed"
        conversation.misses = misses
        for handoff in conversation.handoffs:
            handoff.resolved_at = utcnow()


def feedback(visitor: Visitor, message_id: str, helpful: bool) -> Any:
    return visitor.client.post(
        f"/api/v1/conversations/{visitor.id}/feedback",
        headers=visitor.headers,
        json={"message_id": message_id, "helpful": helpful},
    )


def test_in_the_queue_the_bot_answers_what_it_can_and_acknowledges_detail_once(
    visitor: Visitor,
) -> None:
    """The rule of `bot.handoff.while_with_team`: every kind of message gets what it needs,
    but five lines of detail get one acknowledgement, not five."""
    visitor.say("talk to a human")

    answer = visitor.say(CLEAR)["reply"]
    assert answer["kind"] == "answer"  # a question the knowledge base answers
    ack = visitor.say("it is order 4711")["reply"]
    assert (ack["kind"], ack["text"]) == ("ack", PHRASES["en"]["queue_ack"])
    for detail in ("4711", "the blue one, size M", "it never arrived"):
        assert visitor.say(detail)["reply"] is None  # acknowledged already
    person = visitor.say("can I talk to a human please")["reply"]
    assert person["text"].startswith("You're already in the queue for our support team")
    assert visitor.say("bought last week")["reply"]["kind"] == "ack"  # a new stretch
    assert visitor.say("thanks")["reply"]["text"] == PHRASES["en"]["thanks"]

    data = visitor.messages()
    assert data["status"] == "waiting"
    assert [m["kind"] for m in data["messages"]].count("handoff") == 1


def test_the_handoff_button_twice_is_a_conflict(client: TestClient, visitor: Visitor) -> None:
    url = f"/api/v1/conversations/{visitor.id}/handoff"
    assert client.post(url, headers=visitor.headers, json={}).status_code == 200

    response = client.post(url, headers=visitor.headers, json={})

    assert response.status_code == 409
    assert [m["kind"] for m in visitor.messages()["messages"]] == ["greeting", "handoff"]


def test_after_closing_the_bot_answers_again(
    client: TestClient, context: AppContext, visitor: Visitor
) -> None:
    visitor.say("talk to a human")
    close_in_db(context, visitor.id)

    reply = visitor.say(CLEAR)["reply"]

    assert reply["kind"] == "answer"
    assert reply["sources"][0]["article_id"] == "en/returns"
    assert visitor.messages()["status"] == "bot"
    conversation = client.get(f"/api/v1/conversations/{visitor.id}", headers=visitor.headers)
    assert conversation.json()["handoff"] is None


def test_old_misses_do_not_hand_off_a_reopened_chat(context: AppContext, visitor: Visitor) -> None:
    assert visitor.say(UNCERTAIN)["reply"]["kind"] == "clarify"
    visitor.say("talk to a human")
    close_in_db(context, visitor.id, misses=1)

    reply = visitor.say(UNCERTAIN_TOO)["reply"]

    assert reply["kind"] == "clarify"
    assert handoff_reasons(context, visitor.id) == ["visitor_request"]


def test_clarify_offers_the_close_articles(visitor: Visitor) -> None:
    reply = visitor.say(UNCERTAIN)["reply"]

    assert reply["kind"] == "clarify"
    offered = [q["article_id"] for q in reply["quick_replies"]]
    assert len(offered) >= 2
    assert [s["article_id"] for s in reply["sources"]] == offered
    assert "en/order-tracking" in offered


def test_picking_a_quick_reply_answers_with_that_article(visitor: Visitor) -> None:
    quick = visitor.say(UNCERTAIN)["reply"]["quick_replies"]
    choice = quick[1]

    reply = visitor.say(choice["title"], article_id=choice["article_id"])["reply"]

    assert reply["kind"] == "answer"
    assert reply["confidence"] == 1.0
    assert [s["article_id"] for s in reply["sources"]] == [choice["article_id"]]
    # the pick resolved the miss: another uncertain question is clarified, not handed off
    assert visitor.say(UNCERTAIN_TOO)["reply"]["kind"] == "clarify"


def test_clarify_then_another_uncertain_question_hands_off(
    context: AppContext, visitor: Visitor
) -> None:
    assert visitor.say(UNCERTAIN)["reply"]["kind"] == "clarify"

    reply = visitor.say(UNCERTAIN_TOO)["reply"]

    assert reply["kind"] == "handoff"
    assert visitor.messages()["status"] == "waiting"
    assert handoff_reasons(context, visitor.id) == ["repeated_miss"]


def test_a_clear_answer_in_between_resets_the_misses(context: AppContext, visitor: Visitor) -> None:
    assert visitor.say(UNCERTAIN)["reply"]["kind"] == "clarify"
    assert visitor.say(CLEAR)["reply"]["kind"] == "answer"

    assert visitor.say(UNCERTAIN_TOO)["reply"]["kind"] == "clarify"
    assert handoff_reasons(context, visitor.id) == []


def test_two_thumbs_down_hand_off(context: AppContext, visitor: Visitor) -> None:
    first = visitor.say(CLEAR)["reply"]
    second = visitor.say("where is my parcel")["reply"]

    assert feedback(visitor, first["id"], helpful=False).status_code == 204
    assert visitor.messages()["status"] == "bot"
    assert feedback(visitor, second["id"], helpful=False).status_code == 204

    data = visitor.messages()
    assert data["status"] == "waiting"
    assert data["messages"][-1]["kind"] == "handoff"
    assert handoff_reasons(context, visitor.id) == ["negative_feedback"]


def test_thumbs_down_twice_on_one_answer_counts_once(context: AppContext,
                                                     visitor: Visitor) -> None:
    reply = visitor.say(CLEAR)["reply"]

    for _ in range(2):
        assert feedback(visitor, reply["id"], helpful=False).status_code == 204

    assert visitor.messages()["status"] == "bot"
    assert handoff_reasons(context, visitor.id) == []


def test_thumbs_up_does_not_count_as_a_miss(context: AppContext, visitor: Visitor) -> None:
    for text in (CLEAR, "where is my parcel"):
        reply = visitor.say(text)["reply"]
        assert feedback(visitor, reply["id"], helpful=True).status_code == 204

    assert visitor.messages()["status"] == "bot"


@pytest.mark.parametrize("target", ["visitor", "other", "unknown"])
def test_feedback_on_anything_but_our_bot_message_is_404(
    client: TestClient, visitor: Visitor, target: str
) -> None:
    turn = visitor.say(CLEAR)
    other = Visitor(client)
    other_reply = other.say(CLEAR)["reply"]
    message_id = {"visitor": turn["message"]["id"], "other": other_reply["id"],
                  "unknown": "f" * 32}[target]

    response = feedback(visitor, message_id, helpful=False)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
