"""The agent sees the case first: the packet and the queue lead with the question that caused
the handoff and why, then what the bot answered (labelled, with the customer's thumbs) and what
it tried; their counts agree; the console shows the bot's Markdown safely and every time with
its zone."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot import queries
from bot.app import create_app
from bot.context import AppContext
from bot.models import Conversation, Handoff
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings
from tests.console_helpers import ConsoleAgent, make_agent

ANSWERED = "how do i return an item"
KAYAKS = "Who won the football world cup in 1954?"


def _packet(agent: ConsoleAgent, conversation_id: str) -> dict[str, Any]:
    response = agent.http.get(f"/api/v1/agent/handoffs/{agent.handoff_id(conversation_id)}")
    assert response.status_code == 200
    packet: dict[str, Any] = response.json()
    return packet


def _answered_then_handed_off(client: TestClient) -> tuple[Visitor, dict[str, Any]]:
    visitor = Visitor(client)
    answer = visitor.say(ANSWERED)["reply"]
    assert answer["kind"] == "answer"
    thumbs = client.post(
        f"/api/v1/conversations/{visitor.id}/feedback",
        headers=visitor.headers,
        json={"message_id": answer["id"], "helpful": False},
    )
    assert thumbs.status_code == 204
    assert visitor.say(KAYAKS)["reply"]["kind"] == "handoff"
    return visitor, answer


def test_packet_leads_with_the_question_and_the_reason(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor, answer = _answered_then_handed_off(client)

    packet = _packet(anna, visitor.id)
    case = packet["case"]
    assert case["question"] == KAYAKS
    # the thumbs-down was one miss, the unanswerable question the second
    assert case["reason"] == packet["reason"] == "repeated_miss"
    lead = f"“{KAYAKS}”: the bot's answers did not help twice in a row."
    assert packet["summary"].startswith(lead)
    # what the bot answered earlier is labelled as answered, with the customer's thumbs
    [earlier] = case["answered"]
    assert (earlier["question"], earlier["label"], earlier["feedback"]) == (
        ANSWERED,
        "answered",
        "not_helpful",
    )
    title = answer["sources"][0]["title"]
    assert f"Answered earlier: “{ANSWERED}” with {title} (customer: not helpful)." in (
        packet["summary"]
    )
    assert "the bot suggested" not in packet["summary"]
    # what it tried: the candidates it did not trust for the question that caused the handoff
    [tried] = case["tried"]
    assert (tried["question"], tried["label"]) == (KAYAKS, "handed off")
    assert tried["articles"]
    assert "Not confident in: " in packet["summary"]

    page = anna.page(visitor.id).text
    why, answered, attempts = (
        page.index("Why it is here"),
        page.index("Answered earlier"),
        page.index("What the bot tried"),
    )
    assert why < page.index("1954", why) < answered < attempts
    assert "The customer said it did not help." in page


def test_a_request_for_a_person_names_the_question_before_it(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client)
    assert visitor.say(ANSWERED)["reply"]["kind"] == "answer"
    assert visitor.say("talk to a human")["reply"]["kind"] == "handoff"

    case = _packet(anna, visitor.id)["case"]
    assert case["reason"] == "visitor_request"
    assert (case["question"], case["request"]) == (ANSWERED, "talk to a human")
    assert case["tried"] == []


def test_queue_and_packet_count_the_same(client: TestClient, context: AppContext) -> None:
    """The queue used the summary stored at handoff time while the packet was rebuilt live,
    so they disagreed as soon as the customer wrote again."""
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor, _ = _answered_then_handed_off(client)
    visitor.say("It is for my son, he is 12")
    visitor.say("Are you there?")

    packet = _packet(anna, visitor.id)
    [entry] = anna.http.get("/console/queue").context["entries"]
    assert entry.new_messages == packet["case"]["new_messages"] == 2
    assert entry.summary == packet["summary"]
    with context.db.session() as session:
        stored = session.scalars(select(Handoff.summary)).one()
    assert stored == packet["summary"]  # what the webhook got says the same
    assert "2 new messages since the handoff" in anna.http.get("/console/queue").text
    assert "2 new messages from the customer since the handoff." in anna.page(visitor.id).text


def test_transcript_renders_bot_markdown_and_escapes_everything_else(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client)
    visitor.say("<script>alert('visitor')</script> talk to a human")
    with context.db.session() as session:
        conversation = session.get(Conversation, visitor.id)
        assert conversation is not None
        queries.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="answer",
            text="**Return conditions**\n\n- unused\n- in 30 days\n\n"
            "[Returns](https://shop.example/returns) [bad](javascript:alert(1)) "
            '<img src=x onerror="alert(1)">',
        )

    page = anna.page(visitor.id).text
    assert "<strong>Return conditions</strong>" in page
    assert "<li>in 30 days</li>" in page
    assert '<a href="https://shop.example/returns" rel="noopener noreferrer"' in page
    assert 'href="javascript' not in page
    assert "&lt;img src=x onerror=" in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&#39;visitor&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "**Return conditions**" not in page


def test_times_in_the_console_carry_the_agents_zone(
    client: TestClient, context: AppContext, tmp_path: Any, sample_index: Any
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client)
    visitor.say("talk to a human")
    page = anna.page(visitor.id).text
    # Europe/Berlin, the business zone, by default (CET or CEST)
    stamps = re.findall(r"\d\d:\d\d:\d\d( \S+)?</time>", page)
    assert stamps and set(stamps) <= {" CET", " CEST"}
    assert re.search(r"handoff at \d\d \w{3} \d\d:\d\d:\d\d CES?T", page)

    settings = make_settings(
        tmp_path / "ny", index_dir=sample_index, console_timezone="America/New_York"
    )
    (tmp_path / "ny").mkdir()
    other = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=other)) as ny_client:
        make_agent(other, "bo@example.com", "Bo")
        bo = ConsoleAgent(ny_client, "bo@example.com").login()
        ny = Visitor(ny_client)
        ny.say("talk to a human")
        stamps = re.findall(r"\d\d:\d\d:\d\d( \S+)?</time>", bo.page(ny.id).text)
    assert stamps and set(stamps) <= {" EST", " EDT"}
