"""Every status the widget reads says when the conversation last changed (`updated_at`), so a
status read before a change (a GET answered after the live event of that change) is known to
be older and is dropped by the widget (`applyStatus` in widget/panel-conversation.js)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from bot.events import conversation_channel
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings
from tests.test_chat_language_switch import RecordingBus

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_a_status_read_before_a_handoff_is_older_than_the_handoffs_event(
    tmp_path: Path, sample_index: Path, database_url: str
) -> None:
    bus = RecordingBus()
    settings = make_settings(tmp_path, index_dir=sample_index, database_url=database_url)
    context = AppContext.build(settings, embedder=HashEmbedder(64), bus=bus)
    with TestClient(create_app(context=context)) as client:
        visitor = Visitor(client, locale="en")
        url = f"/api/v1/conversations/{visitor.id}"

        before = client.get(url, headers=visitor.headers).json()
        visitor.say("I want to talk to a human")
        after = client.get(url, headers=visitor.headers).json()

    events = [e["data"] for c, e in bus.published
              if c == conversation_channel(visitor.id) and e["event"] == "status"]
    assert [e["status"] for e in events] == ["waiting"]
    assert STAMP.fullmatch(visitor.created["updated_at"])
    assert (before["status"], before["updated_at"]) == ("bot", visitor.created["updated_at"])
    assert STAMP.fullmatch(events[0]["updated_at"])
    assert before["updated_at"] < events[0]["updated_at"] <= after["updated_at"]
    assert after["status"] == "waiting"
