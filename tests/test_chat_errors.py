"""Bad input: the right status, one error shape, and nothing half-stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings

API = "/api/v1/conversations"


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    """The one error shape: `{"error": {"code", "message"}}`, nothing else."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code


def post_message(visitor: Visitor, json: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("headers", visitor.headers)
    return visitor.client.post(f"{API}/{visitor.id}/messages", json=json, **kwargs)


def stored(visitor: Visitor) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = visitor.messages()["messages"]
    return messages


def test_error_shape_across_endpoints(client: TestClient, visitor: Visitor) -> None:
    other = Visitor(client)
    nobody = {"Authorization": "Bearer not-a-token"}
    cases = [
        (client.post(API, json={"locale": 42}), 422),
        (client.post(API, content=b"{nope", headers={"Content-Type": "application/json"}), 400),
        (client.get(f"{API}/{visitor.id}"), 401),
        (client.get(f"{API}/{visitor.id}/messages", headers=nobody), 401),
        (client.get(f"{API}/{visitor.id}", headers=other.headers), 404),
        (client.post(f"{API}/{visitor.id}/feedback", headers=visitor.headers,
                     json={"message_id": "nope", "helpful": False}), 404),
        (client.post(f"{API}/{visitor.id}/rating", headers=visitor.headers,
                     json={"rating": 5}), 409),
        (client.get("/api/v1/no-such-thing"), 404),
        (client.delete(f"{API}/{visitor.id}"), 405),
    ]
    for response, status in cases:
        assert_error(response, status)


def test_empty_text_is_refused(visitor: Visitor) -> None:
    for text in ["", "   ", "\n\t ", "\x00\x01"]:
        assert_error(post_message(visitor, {"client_id": "empty-0001", "text": text}), 422)
    assert len(stored(visitor)) == 1


def test_text_over_the_limit_is_refused(visitor: Visitor) -> None:
    limit = visitor.client.app.state.context.settings.max_message_chars  # type: ignore[attr-defined]

    response = post_message(visitor, {"client_id": "long-00001", "text": "a" * (limit + 1)})

    assert_error(response, 413, "payload_too_large")
    assert len(stored(visitor)) == 1
    assert visitor.say("b " * (limit // 2))["message"]  # exactly at the limit is fine


def test_control_characters_are_stripped(visitor: Visitor) -> None:
    # (A NUL is refused instead: tests/test_hostile_input.py.)
    turn = visitor.say("how do i return\x07 an item\x1b\n")

    assert turn["message"]["text"] == "how do i return an item"
    assert stored(visitor)[1]["text"] == "how do i return an item"


def test_malformed_json(visitor: Visitor) -> None:
    response = post_message(
        visitor, content=b'{"client_id": "x",', headers={**visitor.headers,
                                                          "Content-Type": "application/json"}
    )

    assert_error(response, 400, "malformed_json")
    assert len(stored(visitor)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": "unknown-01", "text": "hi there", "admin": True},
        {"text": "no client id"},
        {"client_id": "missing-text"},
        {"client_id": "bad id with spaces", "text": "where is my parcel"},
        {"client_id": "short", "text": "where is my parcel"},
        {"client_id": "x" * 65, "text": "where is my parcel"},
        {"client_id": "ok-client-id", "text": 42},
    ],
)
def test_invalid_bodies(visitor: Visitor, body: dict[str, Any]) -> None:
    assert_error(post_message(visitor, body), 422, "validation_error")
    assert len(stored(visitor)) == 1


def test_unknown_fields_when_starting(client: TestClient) -> None:
    assert_error(client.post(API, json={"locale": "en", "colour": "red"}), 422)
    assert_error(client.post(API, json={"visitor": {"name": "A", "is_admin": True}}), 422)


def test_missing_and_wrong_tokens(client: TestClient, visitor: Visitor) -> None:
    body = {"client_id": "token-0001", "text": "where is my parcel"}

    assert_error(post_message(visitor, body, headers={}), 401, "unauthorized")
    assert_error(post_message(visitor, body, headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(post_message(visitor, body, headers={"Authorization": visitor.token}), 401)
    assert len(stored(visitor)) == 1


def test_another_conversations_token_gets_404(client: TestClient, visitor: Visitor) -> None:
    other = Visitor(client)
    body = {"client_id": "foreign-01", "text": "where is my parcel"}

    assert_error(post_message(visitor, body, headers=other.headers), 404, "not_found")
    assert_error(client.get(f"{API}/{visitor.id}/messages", headers=other.headers), 404)
    assert len(stored(visitor)) == 1
    assert len(stored(other)) == 1


def test_unknown_conversation_gets_404_with_a_valid_token(client: TestClient,
                                                          visitor: Visitor) -> None:
    missing = "0" * 32

    assert_error(client.get(f"{API}/{missing}", headers=visitor.headers), 404)
    response = client.post(f"{API}/{missing}/messages", headers=visitor.headers,
                           json={"client_id": "missing-01", "text": "where is my parcel"})
    assert_error(response, 404)
    assert_error(client.get(f"{API}/{missing}", headers={"Authorization": "Bearer x"}), 401)


def test_feedback_and_handoff_need_the_token(client: TestClient, visitor: Visitor) -> None:
    assert_error(client.post(f"{API}/{visitor.id}/handoff", json={}), 401)
    assert_error(client.post(f"{API}/{visitor.id}/feedback",
                             json={"message_id": "x", "helpful": True}), 401)
    assert visitor.messages()["status"] == "bot"


@pytest.fixture
def strict_client(tmp_path: Path, sample_index: Path, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, index_dir=sample_index, database_url=database_url,
                             rate_limit_per_minute=3, conversations_per_minute_per_address=3)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        yield client


def test_rate_limit(strict_client: TestClient) -> None:
    visitor = Visitor(strict_client)
    statuses = []
    # A fixed one-minute window: within 7 posts at most 6 fit even across a window boundary.
    for n in range(7):
        before = len(stored(visitor))
        response = post_message(visitor, {"client_id": f"limited-{n:03d}", "text": "thanks"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_error(response, 429, "rate_limited")
            assert len(stored(visitor)) == before
            break
    assert statuses[-1] == 429
    assert statuses[:3] == [200, 200, 200]


def test_strangers_do_not_use_up_a_visitors_rate_limit(strict_client: TestClient) -> None:
    visitor = Visitor(strict_client)
    other = Visitor(strict_client)
    for n in range(6):  # no token, a made-up one, another conversation's
        headers = [{}, {"Authorization": "Bearer forged"}, other.headers][n % 3]
        body = {"client_id": f"stranger-{n:03d}", "text": "hi"}
        response = post_message(visitor, body, headers=headers)
        assert response.status_code in (401, 404)
    own = post_message(visitor, {"client_id": "visitor-own-001", "text": "thanks"})
    assert own.status_code == 200


def test_rate_limit_on_starting_conversations(strict_client: TestClient) -> None:
    statuses = [strict_client.post(API, json={}).status_code for _ in range(7)]

    assert 429 in statuses
    assert statuses[:3] == [201, 201, 201]
