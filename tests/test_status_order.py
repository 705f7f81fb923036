"""Every status the widget reads says when the conversation last changed (`updated_at`), so a
status read before a change (a GET answered after the live event of that change) is known to
be older and is dropped by the widget (`applyStatus` in widget/panel-conversation.js)."""

from __future__ import annotations

import re

from tests.conftest import Recorded, Visitor

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_a_status_read_before_a_handoff_is_older_than_the_handoffs_event(
    recorded: Recorded,
) -> None:
    client = recorded.client
    visitor = Visitor(client, locale="en")
    url = f"/api/v1/conversations/{visitor.id}"

    before = client.get(url, headers=visitor.headers).json()
    visitor.say("I want to talk to a human")
    after = client.get(url, headers=visitor.headers).json()

    events = recorded.statuses(visitor.id)
    assert [e["status"] for e in events] == ["waiting"]
    assert STAMP.fullmatch(visitor.created["updated_at"])
    assert (before["status"], before["updated_at"]) == ("bot", visitor.created["updated_at"])
    assert STAMP.fullmatch(events[0]["updated_at"])
    assert before["updated_at"] < events[0]["updated_at"] <= after["updated_at"]
    assert after["status"] == "waiting"
