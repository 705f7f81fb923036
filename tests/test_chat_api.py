"""The visitor API's happy paths, through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.phrases import PHRASES
from tests.conftest import Visitor

REPLY_KEYS = {"id", "seq", "role", "kind", "text", "confidence", "sources", "lang"}
RETURNS_HEADINGS = {"", "Return conditions", "Creating a return label", "Return costs per country",
                    "After your return"}
SOURCE_KEYS = {"article_id", "title", "url", "score", "section"}


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("en", "en"), ("de", "de"), ("da", "da"), ("de-DE", "de"), ("da_DK", "da"), ("fr", "en")],
)
def test_create_greets_in_the_locales_language(client: TestClient, locale: str, lang: str) -> None:
    response = client.post("/api/v1/conversations", json={"locale": locale})

    assert response.status_code == 201
    data = response.json()
    assert data["token"] and data["id"]
    assert data["status"] == "bot"
    assert data["lang"] == lang
    [greeting] = data["messages"]
    assert (greeting["role"], greeting["kind"], greeting["seq"]) == ("bot", "greeting", 1)
    assert greeting["text"] == PHRASES[lang]["greeting"]


def test_create_without_a_body_field_uses_the_default_language(client: TestClient) -> None:
    response = client.post("/api/v1/conversations", json={})

    assert response.status_code == 201
    assert response.json()["lang"] == "en"


def test_a_question_gets_an_answer_with_its_source(visitor: Visitor) -> None:
    turn = visitor.say("how do i return an item", client_id="ask-returns-1")

    message, reply = turn["message"], turn["reply"]
    assert (message["role"], message["kind"], message["seq"]) == ("visitor", "text", 2)
    assert message["text"] == "how do i return an item"
    assert reply.keys() >= REPLY_KEYS
    assert (reply["role"], reply["kind"], reply["seq"], reply["lang"]) == ("bot", "answer", 3, "en")
    assert 0.0 < reply["confidence"] <= 1.0
    [source] = reply["sources"]
    assert set(source) == SOURCE_KEYS
    assert source["article_id"] == "en/returns"
    assert source["title"] == "Returning an item"
    assert source["url"] == "https://shop.fjeldfels.example/help/returns"
    # the part shown: "" for the lead, else one of the article's headings, in bold in the text
    assert source["section"] in RETURNS_HEADINGS
    if source["section"]:
        assert reply["text"].startswith(f"**{source['section']}**")
    assert reply["text"]


def test_messages_after_a_sequence_number(visitor: Visitor) -> None:
    visitor.say("how do i return an item")
    visitor.say("where is my parcel")

    everything = visitor.messages()
    later = visitor.messages(after=3)

    assert [m["seq"] for m in everything["messages"]] == [1, 2, 3, 4, 5]
    roles = [m["role"] for m in everything["messages"]]
    assert roles == ["bot", "visitor", "bot", "visitor", "bot"]
    assert [m["seq"] for m in later["messages"]] == [4, 5]
    assert later["messages"][0]["text"] == "where is my parcel"
    assert everything["status"] == "bot"
    assert everything["agent"] is None
    assert visitor.messages(after=5)["messages"] == []


def test_get_conversation(client: TestClient, visitor: Visitor) -> None:
    response = client.get(f"/api/v1/conversations/{visitor.id}", headers=visitor.headers)

    assert response.status_code == 200
    assert response.json() == {
        "id": visitor.id,
        "status": "bot",
        "lang": "en",
        "agent": None,
        "handoff": None,
        "rating": None,
        "updated_at": visitor.created["updated_at"],  # unchanged since it was created
    }


def test_get_conversation_shows_the_open_handoff(client: TestClient, visitor: Visitor) -> None:
    visitor.say("talk to a human")

    data = client.get(f"/api/v1/conversations/{visitor.id}", headers=visitor.headers).json()

    assert data["status"] == "waiting"
    assert data["handoff"]["mode"] in ("live", "later", "email")


def test_handoff_button(client: TestClient, visitor: Visitor) -> None:
    response = client.post(
        f"/api/v1/conversations/{visitor.id}/handoff",
        headers=visitor.headers,
        json={"reason": "visitor_request"},
    )

    assert response.status_code == 200
    data = response.json()
    assert data["message"] is None
    assert (data["reply"]["kind"], data["reply"]["role"]) == ("handoff", "bot")
    assert data["reply"]["handoff"]["mode"] in ("live", "later", "email")
    assert visitor.messages()["status"] == "waiting"


def test_feedback_is_accepted(client: TestClient, visitor: Visitor) -> None:
    reply = visitor.say("how do i return an item")["reply"]

    response = client.post(
        f"/api/v1/conversations/{visitor.id}/feedback",
        headers=visitor.headers,
        json={"message_id": reply["id"], "helpful": True},
    )

    assert response.status_code == 204
    assert response.content == b""
