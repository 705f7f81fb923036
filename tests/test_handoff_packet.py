"""The handoff packet: reason, summary, transcript, the bot's attempts with articles and scores,
the customer (verified or not) and earlier conversations only for verified customers; as JSON
at /api/v1/agent/handoffs/{id} and rendered in the console."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from bot.context import AppContext
from tests.conftest import Visitor
from tests.console_helpers import ConsoleAgent, make_agent, user_hash

UNANSWERABLE = "Who won the football world cup in 1954?"


def _packet(agent: ConsoleAgent, conversation_id: str) -> dict[str, Any]:
    response = agent.http.get(f"/api/v1/agent/handoffs/{agent.handoff_id(conversation_id)}")
    assert response.status_code == 200
    packet: dict[str, Any] = response.json()
    return packet


def test_packet_of_a_low_confidence_handoff(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(
        client,
        page_url="https://shop.example/help",
        visitor={"name": "Jana", "email": "jana@example.com", "attributes": {"plan": "gold"}},
    )
    visitor.say(UNANSWERABLE)
    packet = _packet(anna, visitor.id)
    assert packet["conversation_id"] == visitor.id
    assert packet["reason"] == "low_confidence"
    assert "1954" in packet["summary"]
    assert [m["role"] for m in packet["transcript"]] == ["bot", "visitor", "bot"]
    [attempt] = packet["attempts"]
    assert attempt["question"] == UNANSWERABLE
    assert attempt["kind"] == "handoff"
    assert attempt["confidence"] is not None
    assert attempt["articles"], "the articles the bot weighed are listed"
    assert {"article_id", "title", "score"} <= set(attempt["articles"][0])
    customer = packet["customer"]
    assert customer["name"] == "Jana"
    assert customer["verified"] is False
    assert customer["page_url"] == "https://shop.example/help"
    assert customer["attributes"] == {"plan": "gold"}
    assert packet["promise"]["mode"] == "live"
    assert packet["console_url"].endswith(f"/console/conversations/{visitor.id}")
    assert packet["state"]["claimed_by"] is None

    page = anna.page(visitor.id)
    assert page.template.name == "conversation.html"
    view = page.context["c"]
    assert view["packet"]["reason"] == "low_confidence"
    assert "low_confidence" in page.text
    assert attempt["articles"][0]["title"].replace("&", "&amp;") in page.text
    assert "unverified" in page.text


def test_verified_returning_customer_lists_earlier_conversations(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    identity = {
        "name": "Jana",
        "email": "jana@example.com",
        "external_id": "cust-1042",
        "user_hash": user_hash(context, "cust-1042"),
    }
    earlier = Visitor(client, visitor=identity)
    earlier.say("how do i return an item")
    now = Visitor(client, visitor=identity)
    now.say("talk to a human")
    packet = _packet(anna, now.id)
    assert packet["customer"]["verified"] is True
    assert packet["customer"]["external_id"] == "cust-1042"
    assert [e["id"] for e in packet["earlier_conversations"]] == [earlier.id]
    assert packet["earlier_conversations"][0]["first_message"] == "how do i return an item"
    assert packet["reason"] == "visitor_request"

    page = anna.page(now.id)
    assert page.context["c"]["packet"]["customer"]["verified"] is True
    assert 'class="badge verified"' in page.text
    assert f"/console/conversations/{earlier.id}" in page.text


def test_unverified_visitor_claiming_an_id_gets_no_history(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    real = {"external_id": "cust-1042", "user_hash": user_hash(context, "cust-1042")}
    Visitor(client, visitor=real).say("how do i return an item")
    # Same customer id, but no valid proof: nobody learns about the real customer's chats.
    impostor = Visitor(client, visitor={"external_id": "cust-1042", "user_hash": "0" * 64})
    impostor.say("talk to a human")
    packet = _packet(anna, impostor.id)
    assert packet["customer"]["verified"] is False
    assert packet["earlier_conversations"] == []
    page = anna.page(impostor.id)
    assert "Only shown for verified customers." in page.text
    assert "Claimed id (not proven)" in page.text


def test_the_handoff_button_hands_off_too(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client)
    response = client.post(
        f"/api/v1/conversations/{visitor.id}/handoff", headers=visitor.headers, json={}
    )
    assert response.status_code == 200
    assert response.json()["reply"]["kind"] == "handoff"
    packet = _packet(anna, visitor.id)
    assert packet["reason"] == "visitor_request"
    assert packet["attempts"] == []


def test_unknown_handoff_is_404(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    response = anna.http.get("/api/v1/agent/handoffs/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert anna.page("nope").status_code == 404


def identify(visitor: Visitor, **identity: Any) -> Any:
    return visitor.client.put(
        f"/api/v1/conversations/{visitor.id}/visitor", headers=visitor.headers, json=identity
    )


def test_signing_in_mid_chat_shows_the_agent_who_it_is(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    proof = {"external_id": "cust-1042", "user_hash": user_hash(context, "cust-1042")}
    earlier = Visitor(client, visitor=proof)
    earlier.say("how do i return an item")
    visitor = Visitor(client)  # anonymous at first
    visitor.say("my parcel has not arrived")
    response = identify(visitor, name="Jana", email="jana@example.com", **proof)
    assert response.status_code == 200
    assert response.json() == {"verified": True}
    visitor.say("talk to a human")
    packet = _packet(anna, visitor.id)
    assert packet["customer"]["verified"] is True
    assert packet["customer"]["name"] == "Jana"
    assert [e["id"] for e in packet["earlier_conversations"]] == [earlier.id]
    assert "my parcel has not arrived" in [m["text"] for m in packet["transcript"]]


def test_an_unproven_identity_is_kept_as_a_claim(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    Visitor(client, visitor={"external_id": "cust-7", "user_hash": user_hash(context, "cust-7")})
    visitor = Visitor(client)
    response = identify(visitor, external_id="cust-7", user_hash="0" * 64, name="Mallory")
    assert response.json() == {"verified": False}
    visitor.say("talk to a human")
    packet = _packet(anna, visitor.id)
    assert packet["customer"]["verified"] is False
    assert packet["customer"]["external_id"] == "cust-7"
    assert packet["earlier_conversations"] == []


def test_a_conversation_never_changes_customer(client: TestClient, context: AppContext) -> None:
    jana = {"external_id": "cust-1", "user_hash": user_hash(context, "cust-1")}
    visitor = Visitor(client, visitor=jana)
    same = identify(visitor, email="jana@example.com", **jana)
    assert same.json() == {"verified": True}
    other = identify(visitor, external_id="cust-2", user_hash=user_hash(context, "cust-2"))
    assert other.status_code == 409
    assert "start a new one" in other.json()["error"]["message"]


def test_identifying_needs_the_conversations_token(client: TestClient) -> None:
    visitor, stranger = Visitor(client), Visitor(client)
    url = f"/api/v1/conversations/{visitor.id}/visitor"
    assert client.put(url, json={"name": "x"}).status_code == 401
    assert client.put(url, json={"name": "x"}, headers=stranger.headers).status_code == 404
    bad = client.put(url, json={"nickname": "x"}, headers=visitor.headers)
    assert bad.status_code == 422


def test_attributes_stay_bounded_across_identify_calls(client: TestClient) -> None:
    visitor = Visitor(client, visitor={"attributes": {f"a{i}": i for i in range(20)}})
    more = identify(visitor, attributes={f"b{i}": i for i in range(10)})
    assert more.status_code == 200
    too_many = identify(visitor, attributes={"c": 1})
    assert too_many.status_code == 422
    assert "at most 30 per conversation" in too_many.json()["error"]["message"]
