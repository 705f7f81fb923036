"""A retried message (same `client_id`) is stored once and answered the same way."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Visitor


def post(visitor: Visitor, client_id: str, text: str) -> Any:
    return visitor.client.post(
        f"/api/v1/conversations/{visitor.id}/messages",
        headers=visitor.headers,
        json={"client_id": client_id, "text": text},
    )


def test_same_client_id_returns_the_same_turn_and_stores_once(visitor: Visitor) -> None:
    first = visitor.say("how do i return an item", client_id="retry-0001")
    again = visitor.say("how do i return an item", client_id="retry-0001")

    assert again == first
    assert [m["seq"] for m in visitor.messages()["messages"]] == [1, 2, 3]


def test_retry_while_waiting_returns_the_same_acknowledgement(visitor: Visitor) -> None:
    visitor.say("talk to a human")
    first = visitor.say("my order number is 4711", client_id="waiting-0001")
    again = visitor.say("my order number is 4711", client_id="waiting-0001")
    silent = visitor.say("the blue jacket", client_id="waiting-0002")
    silent_again = visitor.say("the blue jacket", client_id="waiting-0002")

    assert first["reply"]["kind"] == "ack"
    assert again == first
    assert silent["reply"] is None  # acknowledged once already
    assert silent_again == silent
    messages = visitor.messages()["messages"]
    assert [m["text"] for m in messages].count("my order number is 4711") == 1
    assert [m["kind"] for m in messages].count("ack") == 1


def test_same_client_id_with_other_text_is_a_conflict(visitor: Visitor) -> None:
    visitor.say("how do i return an item", client_id="conflict-01")
    before = visitor.messages()["messages"]

    response = post(visitor, "conflict-01", "where is my parcel")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert visitor.messages()["messages"] == before


def test_the_same_client_id_in_another_conversation_is_independent(client: TestClient) -> None:
    one, two = Visitor(client), Visitor(client)

    a = one.say("how do i return an item", client_id="shared-id-1")
    b = two.say("how do i return an item", client_id="shared-id-1")

    assert a["message"]["id"] != b["message"]["id"]
    assert len(two.messages()["messages"]) == 3


def test_concurrent_retries_store_once(visitor: Visitor) -> None:
    """A flaky network makes the widget send the same message several times at once."""
    results: list[Any] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def send() -> None:
        start.wait(timeout=10)
        response = post(visitor, "racing-0001", "where is my parcel")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [r.status_code for r in results] == [200] * 4
    bodies = [r.json() for r in results]
    assert all(body == bodies[0] for body in bodies)
    messages = visitor.messages()["messages"]
    assert [m["role"] for m in messages] == ["bot", "visitor", "bot"]
