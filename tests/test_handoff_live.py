"""End to end over real sockets: the bot cannot answer, hands off, an agent claims and replies
in the console, and the visitor's open SSE stream (what the widget listens to) receives the
join message, the typing indicator and the reply; after "resolve" the bot answers again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from bot.phrases import say
from tests.conftest import LiveServer

UNANSWERABLE = "Who won the football world cup in 1954?"


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream into {"event", "id", "data"} dicts (data as JSON)."""
    import json

    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in event:
                event["data"] = json.loads(event["data"])
                yield event
            event = {}
        elif not line.startswith(":") and ":" in line:
            field, _, value = line.partition(":")
            event[field] = value.lstrip(" ")


def until(events: Iterator[dict[str, Any]], match: Any, timeout: float = 10.0) -> list[Any]:
    """Events up to and including the first one for which `match` is true."""
    seen, deadline = [], time.monotonic() + timeout
    for event in events:
        seen.append(event)
        if match(event):
            return seen
        assert time.monotonic() < deadline, f"no matching event in {timeout} s: {seen}"
    raise AssertionError(f"stream ended: {seen}")


def test_agent_reply_reaches_the_visitor_live(live_server: LiveServer) -> None:
    agent = live_server.agent  # logged in, so online: the handoff is live
    # The session-wide agent may have been idle past the presence window: a console request
    # marks it as seen, as a real agent's open console does.
    assert agent.http.get("/console").status_code == 200
    with httpx.Client(base_url=live_server.url, timeout=10.0) as http:
        created = http.post("/api/v1/conversations", json={"locale": "en"}).json()
        cid, token = created["id"], created["token"]
        auth = {"Authorization": f"Bearer {token}"}

        def say_(text: str) -> Any:
            response = http.post(
                f"/api/v1/conversations/{cid}/messages",
                headers=auth,
                json={"client_id": uuid.uuid4().hex, "text": text},
            )
            assert response.status_code == 200, response.text
            return response.json()

        reply = say_(UNANSWERABLE)["reply"]
        assert reply["kind"] == "handoff"
        assert reply["handoff"]["mode"] == "live"

        queue = agent.http.get("/api/v1/agent/queue").json()["entries"]
        entry = next(e for e in queue if e["conversation_id"] == cid)
        assert entry["reason"] == "low_confidence"
        assert entry["claimed_by"] is None
        assert cid in agent.http.get("/console").text

        ticket = http.post(f"/api/v1/conversations/{cid}/stream-ticket", headers=auth).json()
        with http.stream(
            "GET", f"/api/v1/conversations/{cid}/events", params={"ticket": ticket["ticket"]}
        ) as stream:
            assert stream.status_code == 200
            events = sse_events(stream)
            until(events, lambda e: e["event"] == "status")  # caught up

            agent.claim(cid)
            joined = until(
                events, lambda e: e["event"] == "message" and e["data"]["role"] == "system"
            )
            assert joined[-1]["data"]["text"] == say("agent_joined", "en", name=agent.name)
            status = until(events, lambda e: e["event"] == "status")[-1]["data"]
            assert status["status"] == "agent"
            assert status["agent"] == {"name": agent.name}

            agent.typing(cid, True)
            typing = until(events, lambda e: e["event"] == "typing")[-1]
            assert typing["data"] == {"role": "agent", "typing": True}

            agent.reply(cid, "Germany, in Bern. Anything else?")
            got = until(events, lambda e: e["event"] == "message" and e["data"]["role"] == "agent")
            message = got[-1]
            assert message["data"]["text"] == "Germany, in Bern. Anything else?"
            assert message["data"]["agent_name"] == agent.name
            assert int(message["id"]) == message["data"]["seq"]

            agent.resolve(cid)
            closed = until(
                events, lambda e: e["event"] == "status" and e["data"]["status"] == "closed"
            )
            assert any(
                e["event"] == "message" and e["data"]["text"] == say("resolved", "en", name="Anna")
                for e in closed
            )

        again = say_("how do i return an item")["reply"]
        assert again["role"] == "bot"
        assert again["kind"] == "answer"

    stats = agent.http.get("/api/v1/agent/stats").json()
    row = next(r for r in stats["rows"] if r["conversation_id"] == cid)
    assert row["seconds"] < stats["target_seconds"]
    print(
        f"\nhandoff -> first agent reply: {row['seconds']:.3f} s "
        f"(median {stats['median_seconds']:.3f} s over {stats['answered']}, "
        f"target {stats['target_seconds']} s)"
    )
