"""Writers to one conversation at once, over real HTTP: several visitor tabs and an agent.

On SQLite the row lock (`SELECT ... FOR UPDATE`) is a no-op, so without `BEGIN IMMEDIATE`
two turns read the same `last_seq` and one fails with a unique violation (a 500, and the
message is lost). Every acknowledged message must be stored exactly once, in one gap-free
sequence, on both backends.
"""

from __future__ import annotations

import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.models import Message
from ingest.embed import HashEmbedder
from tests.conftest import LiveServer, make_settings

CLIENTS = 4
MESSAGES = 10


@pytest.fixture
def server(tmp_path: Path, sample_index: Path, database_url: str) -> Any:
    settings = make_settings(
        tmp_path, index_dir=sample_index, database_url=database_url, rate_limit_per_minute=10_000
    )
    live = LiveServer(AppContext.build(settings, embedder=HashEmbedder(64)))
    live.start()
    yield live
    live.stop()


def _visitor_writes(base: str, conversation: dict[str, Any], tab: int) -> list[tuple[str, int]]:
    """One browser tab posting `MESSAGES` messages; returns (client_id, status) per post."""
    headers = {"Authorization": f"Bearer {conversation['token']}"}
    results = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for n in range(MESSAGES):
            client_id = f"tab{tab}-msg{n:03d}"
            response = http.post(
                f"/api/v1/conversations/{conversation['id']}/messages",
                json={"client_id": client_id, "text": f"how do I return item {tab}.{n}"},
            )
            results.append((client_id, response.status_code))
    return results


def _stored(server: LiveServer, conversation_id: str) -> list[Message]:
    with server.context.db.reading() as session:
        query = select(Message).where(Message.conversation_id == conversation_id)
        return list(session.scalars(query.order_by(Message.seq)))


def _assert_whole(server: LiveServer, conversation_id: str, acknowledged: list[str]) -> None:
    stored = _stored(server, conversation_id)
    seqs = [m.seq for m in stored]
    assert seqs == list(range(1, len(stored) + 1)), "sequence numbers have a gap or a repeat"
    client_ids = Counter(m.client_id for m in stored if m.client_id)
    assert all(client_ids[c] == 1 for c in acknowledged), "an acknowledged message is missing"
    assert max(client_ids.values()) == 1, "a message was stored twice"


def test_visitor_tabs_write_one_conversation_at_once(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        conversation = http.post("/api/v1/conversations", json={"locale": "en"}).json()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(
            itertools.chain.from_iterable(
                pool.map(lambda tab: _visitor_writes(server.url, conversation, tab), range(CLIENTS))
            )
        )
    statuses = Counter(status for _, status in results)
    assert statuses == {200: CLIENTS * MESSAGES}, statuses
    _assert_whole(server, conversation["id"], [c for c, _ in results])


def test_visitors_and_an_agent_write_one_conversation_at_once(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        conversation = http.post("/api/v1/conversations", json={"locale": "en"}).json()
        handed = http.post(
            f"/api/v1/conversations/{conversation['id']}/handoff",
            headers={"Authorization": f"Bearer {conversation['token']}"},
        )
        assert handed.status_code == 200, handed.text
    agent = server.agent
    agent.claim(conversation["id"])

    def agent_writes() -> list[int]:
        return [
            agent.post(f"/console/conversations/{conversation['id']}/reply", text=f"reply {n}")
            .status_code
            for n in range(MESSAGES)
        ]

    with ThreadPoolExecutor(CLIENTS + 1) as pool:
        replies = pool.submit(agent_writes)
        tabs = [pool.submit(_visitor_writes, server.url, conversation, t) for t in range(CLIENTS)]
        results = list(itertools.chain.from_iterable(t.result() for t in tabs))
        agent_statuses = replies.result()
    assert Counter(status for _, status in results) == {200: CLIENTS * MESSAGES}
    assert Counter(agent_statuses) == {303: MESSAGES}
    _assert_whole(server, conversation["id"], [c for c, _ in results])
    agent_texts = Counter(m.text for m in _stored(server, conversation["id"]) if m.role == "agent")
    assert agent_texts == {f"reply {n}": 1 for n in range(MESSAGES)}
