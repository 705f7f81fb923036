"""The console's work on a handed-off chat, through HTTP: queue, claim, reply, notes, hand
back, resolve, one agent per chat, escaping of visitor text, and the response-time figures."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fastapi.testclient import TestClient

from bot.context import AppContext
from bot.models import Handoff, Message
from bot.phrases import say
from tests.conftest import Visitor
from tests.console_helpers import ConsoleAgent, make_agent

UNANSWERABLE = "Who won the football world cup in 1954?"


def _agent(client: TestClient, context: AppContext, email: str, name: str) -> ConsoleAgent:
    make_agent(context, email, name)
    return ConsoleAgent(client, email).login()


def test_claim_reply_resolve_and_the_bot_answers_again(
    client: TestClient, context: AppContext
) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    visitor = Visitor(client)
    turn = visitor.say(UNANSWERABLE)
    assert turn["reply"]["kind"] == "handoff"
    assert turn["reply"]["handoff"]["mode"] == "live"  # Anna is online

    queue = anna.http.get("/console")
    [entry] = queue.context["entries"]
    assert entry.conversation_id == visitor.id
    assert entry.reason == "low_confidence"
    assert entry.claimed_by is None

    assert anna.claim(visitor.id).status_code == 303
    state = visitor.messages()
    assert state["status"] == "agent"
    assert state["agent"] == {"name": "Anna"}
    assert state["messages"][-1]["role"] == "system"
    assert state["messages"][-1]["text"] == say("agent_joined", "en", name="Anna")

    # The visitor keeps writing: stored for the agent, no bot reply.
    assert visitor.say("It is for a pub quiz")["reply"] is None

    assert anna.reply(visitor.id, "Germany won it, in Bern.").status_code == 303
    last = visitor.messages()["messages"][-1]
    assert (last["role"], last["text"], last["agent_name"]) == (
        "agent",
        "Germany won it, in Bern.",
        "Anna",
    )
    with context.db.session() as session:
        handoff = session.query(Handoff).one()
        assert handoff.claimed_by_id is not None
        assert handoff.first_reply_at is not None
        stored = session.query(Message).filter_by(role="agent").one()
        assert stored.agent_id == handoff.claimed_by_id

    assert anna.resolve(visitor.id).status_code == 303
    state = visitor.messages()
    assert state["status"] == "closed"
    assert state["messages"][-1]["text"] == say("resolved", "en", name="Anna")
    with context.db.session() as session:
        assert session.query(Handoff).one().resolved_at is not None
    assert anna.http.get("/console").context["entries"] == []

    again = visitor.say("how do i return an item")
    assert again["reply"]["role"] == "bot"
    assert again["reply"]["kind"] == "answer"
    assert visitor.messages()["status"] == "bot"


def test_a_second_agent_can_neither_claim_nor_reply(
    client: TestClient, context: AppContext
) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    ben = _agent(client, context, "ben@example.com", "Ben")
    visitor = Visitor(client)
    visitor.say("talk to a human")

    assert ben.reply(visitor.id, "I was first!").status_code == 409  # nobody claimed yet
    assert anna.claim(visitor.id).status_code == 303
    assert anna.claim(visitor.id).status_code == 303  # again: harmless
    second = ben.claim(visitor.id)
    assert second.status_code == 409
    assert second.template.name == "error.html"
    assert "Anna has already claimed this chat" in second.text
    refused = ben.reply(visitor.id, "Let me help")
    assert refused.status_code == 409
    assert "Anna has claimed this chat" in refused.text
    assert ben.typing(visitor.id, True).status_code == 409
    assert ben.resolve(visitor.id).status_code == 409
    texts = [m["text"] for m in visitor.messages()["messages"]]
    assert "Let me help" not in texts and "I was first!" not in texts
    joined = [m for m in visitor.messages()["messages"] if m["role"] == "system"]
    assert len(joined) == 1
    page = ben.page(visitor.id)
    assert page.context["mine"] is False
    assert "Anna has claimed this chat." in page.text
    assert 'action="/console/conversations/' + visitor.id + '/reply"' not in page.text


def test_visitor_html_shows_as_text_in_the_console(client: TestClient, context: AppContext) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    visitor = Visitor(client, visitor={"name": "<b>Mallory</b>"})
    visitor.say("<script>alert('x')</script> please help")
    visitor.say("talk to a human <img src=x onerror=alert(1)>")
    for response in (anna.page(visitor.id), anna.http.get("/console")):
        html = response.text
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>Mallory</b>" not in html
        assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
        assert "Content-Security-Policy" in response.headers
    page = anna.page(visitor.id).text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    transcript = anna.http.get(f"/console/conversations/{visitor.id}/transcript").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in transcript


def test_notes_stay_internal(client: TestClient, context: AppContext) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    ben = _agent(client, context, "ben@example.com", "Ben")
    visitor = Visitor(client)
    visitor.say("talk to a human")
    anna.claim(visitor.id)
    assert ben.note(visitor.id, "Known customer, VIP").status_code == 303  # anyone may note
    anna.reply(visitor.id, "Hello!")
    roles = [m["role"] for m in visitor.messages()["messages"]]
    assert "note" not in roles
    assert "Known customer, VIP" not in str(visitor.messages())
    transcript = anna.page(visitor.id).context["c"]["transcript"]
    assert [m["text"] for m in transcript if m["role"] == "note"] == ["Known customer, VIP"]
    packet = anna.http.get(f"/api/v1/agent/handoffs/{anna.handoff_id(visitor.id)}").json()
    assert "Known customer, VIP" not in str(packet)


def test_hand_back_to_the_bot(client: TestClient, context: AppContext) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    visitor = Visitor(client, locale="de-DE")
    visitor.say("Ich möchte mit einem Mitarbeiter sprechen")
    anna.claim(visitor.id)
    assert visitor.messages()["messages"][-1]["text"] == say("agent_joined", "de", name="Anna")
    assert anna.hand_back(visitor.id).status_code == 303
    state = visitor.messages()
    assert state["status"] == "bot"
    assert state["messages"][-1]["text"] == say("back_to_bot", "de", name="Anna")
    reply = visitor.say("Wie kann ich etwas zurücksenden?")["reply"]
    assert reply["role"] == "bot"
    assert reply["kind"] != "handoff"


def test_back_to_the_queue_for_a_colleague(client: TestClient, context: AppContext) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    ben = _agent(client, context, "ben@example.com", "Ben")
    visitor = Visitor(client, locale="da-DK")
    visitor.say("jeg vil tale med et menneske")
    anna.claim(visitor.id)
    assert 'action="/console/conversations/' in anna.page(visitor.id).text
    assert ben.release(visitor.id).status_code == 409  # not Ben's to give away
    assert anna.release(visitor.id).status_code == 303
    state = visitor.messages()
    assert state["status"] == "waiting"
    assert state["messages"][-1]["text"] == say("agent_left", "da", name="Anna")
    queue = anna.http.get("/api/v1/agent/queue").json()["entries"]
    assert [(e["conversation_id"], e["claimed_by"]) for e in queue] == [(visitor.id, None)]
    assert anna.release(visitor.id).status_code == 409  # in the queue already
    assert ben.claim(visitor.id).status_code == 303
    assert ben.reply(visitor.id, "Hej, Ben her.").status_code == 303


def test_a_lead_can_free_a_chat_an_absent_agent_holds(
    client: TestClient, context: AppContext
) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    make_agent(context, "lea@example.com", "Lea", role="lead")
    lea = ConsoleAgent(client, "lea@example.com").login()
    visitor = Visitor(client)
    visitor.say("talk to a human")
    anna.claim(visitor.id)  # ...and then Anna's laptop dies
    page = lea.page(visitor.id).text
    assert "Put back in the queue (lead)" in page
    assert "Put back in the queue (lead)" not in anna.page(visitor.id).text
    assert lea.release(visitor.id).status_code == 303
    assert visitor.messages()["messages"][-1]["text"] == say("agent_left", "en", name="Anna")
    assert lea.claim(visitor.id).status_code == 303


def test_queue_longest_wait_first_and_late_ones_marked(
    client: TestClient, context: AppContext
) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    recent, old = Visitor(client), Visitor(client)
    recent.say("talk to a human")
    old.say("talk to a human")
    with context.db.session() as session:  # `old` has waited five minutes
        handoff = session.query(Handoff).filter_by(conversation_id=old.id).one()
        handoff.created_at = handoff.created_at - dt.timedelta(minutes=5)
    page = anna.http.get("/console")
    entries = page.context["entries"]
    assert [e.conversation_id for e in entries] == [old.id, recent.id]
    assert entries[0].late and not entries[1].late
    assert page.context["target"] == 30
    assert 'class="wait late"' in page.text
    api = anna.http.get("/api/v1/agent/queue").json()
    assert [e["conversation_id"] for e in api["entries"]] == [old.id, recent.id]


def test_typing_reaches_only_the_owner_s_chat(client: TestClient, context: AppContext) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    visitor = Visitor(client)
    visitor.say("talk to a human")
    assert anna.typing(visitor.id, True).status_code == 409  # claim first
    anna.claim(visitor.id)
    assert anna.typing(visitor.id, True).status_code == 204
    assert anna.typing(visitor.id, False).status_code == 204


def test_response_time_stats(client: TestClient, context: AppContext) -> None:
    anna = _agent(client, context, "anna@example.com", "Anna")
    fast, slow = Visitor(client), Visitor(client)
    for visitor in (fast, slow):
        visitor.say("talk to a human")
        anna.claim(visitor.id)
        anna.reply(visitor.id, "Hi, Anna here.")
    with context.db.session() as session:  # the slow one was answered after two minutes
        handoff = session.query(Handoff).filter_by(conversation_id=slow.id).one()
        assert handoff.first_reply_at is not None
        handoff.created_at = handoff.first_reply_at - dt.timedelta(seconds=120)
    stats = anna.http.get("/api/v1/agent/stats").json()
    assert stats["target_seconds"] == 30
    assert stats["answered"] == 2
    assert stats["within_target"] == 1
    by_id = {row["conversation_id"]: row for row in stats["rows"]}
    assert by_id[slow.id]["seconds"] == 120
    assert not by_id[slow.id]["within_target"]
    assert by_id[fast.id]["within_target"]
    assert stats["median_seconds"] == pytest.approx((by_id[fast.id]["seconds"] + 120) / 2, abs=0.01)
    page = anna.http.get("/console/stats")
    assert page.template.name == "stats.html"
    assert page.context["stats"].answered == 2
    assert "within the 30 s target" in page.text
    assert 'class="late">2 min' in page.text


def test_two_agents_claiming_at_once_one_wins(client: TestClient, context: AppContext) -> None:
    agents = [
        _agent(client, context, "anna@example.com", "Anna"),
        _agent(client, context, "ben@example.com", "Ben"),
    ]

    def claim(agent: ConsoleAgent, chat: str, start: threading.Barrier, out: list[int]) -> None:
        start.wait()
        out.append(agent.claim(chat).status_code)

    for _ in range(8):
        visitor = Visitor(client)
        visitor.say("talk to a human")
        start, statuses = threading.Barrier(2), []
        threads = [
            threading.Thread(target=claim, args=(agent, visitor.id, start, statuses))
            for agent in agents
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [303, 409]


@pytest.mark.parametrize(("section", "shown"), [
    ("Creating a return label", "Returning an item</a> › Creating a return label <span"),
    ("", "Returning an item</a> <span"),  # the lead: the title alone
    (None, "Returning an item</a> <span"),  # a reply stored before sections were recorded
    ("<b>x</b>", "Returning an item</a> › &lt;b&gt;x&lt;/b&gt; <span"),
])
def test_the_transcript_names_the_section_an_answer_came_from(section: str | None,
                                                              shown: str) -> None:
    from bot.console.render import templates

    source = {"article_id": "en/returns", "title": "Returning an item", "score": 0.9,
              "url": "https://shop.example/help/returns", "section": section}
    message = {"role": "bot", "kind": "answer", "seq": 3, "at": dt.datetime.now(dt.UTC),
               "confidence": 0.9, "text": "You can return items within 30 days.",
               "sources": [source], "agent": None}

    html = templates.env.get_template("_transcript.html").render(
        c={"transcript": [message]}, local=str)

    assert shown in html
