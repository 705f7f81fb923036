"""Input an attacker (or a fuzzer) sends: each case once gave a 500 on SQLite, on PostgreSQL
or on both. Now each gets its 4xx in the error shape, and nothing of it is stored."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.access import verify_identity
from bot.limits import RequestLimits
from bot.schemas import MAX_ATTRIBUTES_BYTES
from tests.conftest import LiveServer, Visitor
from tests.test_chat_errors import API, assert_error, stored


def raw(client: TestClient, method: str, url: str, body: str, **headers: str) -> Any:
    """A JSON body sent as written: `"\\ud800"` and `NaN` survive (json.dumps would not)."""
    return client.request(
        method, url, content=body.encode("ascii"),
        headers={"Content-Type": "application/json", **headers},
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"visitor": {"attributes": {"plan": "\\ud800"}}}',
        '{"visitor": {"attributes": {"\\udfff": "gold"}}}',
        '{"visitor": {"name": "Jana \\udc80"}}',
        '{"page_url": "https://shop.example/\\ud83d"}',
    ],
)
def test_lone_surrogates_are_refused(client: TestClient, body: str) -> None:
    # Stored, a lone surrogate made the agent's conversation page and the packet fail (it
    # cannot be written as UTF-8); so it never gets in.
    assert_error(raw(client, "POST", API, body), 422, "validation_error")


def test_lone_surrogates_are_refused_later_too(client: TestClient, visitor: Visitor) -> None:
    url = f"{API}/{visitor.id}"
    cases = [
        ("PUT", "/visitor", '{"attributes": {"plan": "\\ud800"}}'),
        ("POST", "/messages", '{"client_id": "surrogate-1", "text": "hello \\ud800"}'),
        ("POST", "/feedback", '{"message_id": "x", "helpful": false, "comment": "\\udfff"}'),
    ]
    for method, path, body in cases:
        assert_error(raw(client, method, url + path, body, **visitor.headers), 422)
    assert len(stored(visitor)) == 1


@pytest.mark.parametrize(
    "visitor_body",
    [
        {"name": "Ja\x00na"},
        {"email": "jana\x00@shop.example"},
        {"external_id": "cust\x00-1"},
        {"attributes": {"plan": "go\x00ld"}},
        {"attributes": {"pl\x00an": "gold"}},
    ],
)
def test_nul_in_visitor_fields_is_refused(client: TestClient, visitor_body: dict[str, Any]) -> None:
    # PostgreSQL refuses a NUL in text: this was a 500 there.
    assert_error(client.post(API, json={"visitor": visitor_body}), 422, "validation_error")


def test_nul_anywhere_else_is_refused(client: TestClient, visitor: Visitor) -> None:
    bot_message = stored(visitor)[0]["id"]
    assert_error(client.post(API, json={"page_url": "https://shop.example/\x00"}), 422)
    assert_error(
        client.post(f"{API}/{visitor.id}/feedback", headers=visitor.headers,
                    json={"message_id": bot_message, "helpful": False, "comment": "bad\x00"}),
        422,
    )
    assert_error(
        client.post(f"{API}/{visitor.id}/feedback", headers=visitor.headers,
                    json={"message_id": "a\x00b", "helpful": False}),
        422,
    )
    assert_error(client.post(f"{API}/{visitor.id}/messages", headers=visitor.headers,
                             json={"client_id": "nul-00001", "text": "where\x00 is it"}), 422)
    # A NUL in a path id, with any bearer string at all, was enough for a 500.
    assert_error(client.get(f"{API}/abc%00def", headers={"Authorization": "Bearer x"}), 400)
    assert_error(client.get(f"{API}/{visitor.id}/messages?after=1%00",
                            headers=visitor.headers), 400)
    assert_error(client.get("/console/conversations/abc%00def"), 400)
    assert len(stored(visitor)) == 1


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "1" * 400])
def test_non_finite_and_huge_numbers_are_refused(client: TestClient, number: str) -> None:
    body = '{"visitor": {"attributes": {"score": NUMBER}}}'.replace("NUMBER", number)
    assert_error(raw(client, "POST", API, body), 422, "validation_error")


def test_a_non_ascii_user_hash_is_just_wrong(client: TestClient) -> None:
    # hmac.compare_digest raises TypeError on non-ASCII str: this was a 500.
    assert verify_identity("cust-1", "é" * 64, "secret") is False
    response = client.post(API, json={"visitor": {"external_id": "cust-1", "user_hash": "é" * 64}})
    assert response.status_code == 201, response.text
    status = client.get(f"{API}/{response.json()['id']}",
                        headers={"Authorization": f"Bearer {response.json()['token']}"})
    assert status.status_code == 200


def test_after_beyond_any_sequence_number_is_refused(visitor: Visitor) -> None:
    response = visitor.client.get(f"{API}/{visitor.id}/messages",
                                  params={"after": "9" * 30}, headers=visitor.headers)
    assert_error(response, 422, "validation_error")


def test_attributes_are_bounded_in_bytes(client: TestClient, visitor: Visitor) -> None:
    big = "x" * 950
    nine = {f"a{n}": big for n in range(9)}  # 9 x 950 bytes: over 8 KiB
    assert len(json.dumps(nine)) > MAX_ATTRIBUTES_BYTES
    assert_error(client.post(API, json={"visitor": {"attributes": nine}}), 422)
    assert_error(client.post(API, json={"visitor": {"attributes": {"a": "x" * 1001}}}), 422)
    # Under the limit each time, over it together: the second is refused.
    url = f"{API}/{visitor.id}/visitor"
    first = {f"a{n}": big for n in range(5)}
    second = {f"b{n}": big for n in range(5)}
    assert client.put(url, headers=visitor.headers, json={"attributes": first}).status_code == 200
    assert_error(client.put(url, headers=visitor.headers, json={"attributes": second}), 422)


def test_a_body_over_the_limit_is_refused_by_its_length(client: TestClient,
                                                        visitor: Visitor) -> None:
    limit = client.app.state.context.settings.max_body_bytes  # type: ignore[attr-defined]
    text = "a" * (10 * 1024 * 1024)
    response = client.post(f"{API}/{visitor.id}/messages", headers=visitor.headers,
                           json={"client_id": "huge-00001", "text": text})
    assert_error(response, 413, "payload_too_large")
    assert str(limit) in response.json()["error"]["message"]
    attributes = {f"a{n}": "x" * (1024 * 1024) for n in range(30)}  # 30 MB
    assert_error(client.post(API, json={"visitor": {"attributes": attributes}}), 413)
    assert len(stored(visitor)) == 1


def test_a_streamed_body_is_refused_before_it_is_read_whole(client: TestClient,
                                                            visitor: Visitor) -> None:
    limit = client.app.state.context.settings.max_body_bytes  # type: ignore[attr-defined]

    def chunks() -> Any:  # no Content-Length: sent chunked
        yield b'{"client_id": "chunked-01", "text": "'
        for _ in range(4 * limit // 65536):
            yield b"a" * 65536
        yield b'"}'

    response = client.post(f"{API}/{visitor.id}/messages", content=chunks(),
                           headers={**visitor.headers, "Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    assert len(stored(visitor)) == 1


def test_the_middleware_stops_reading_at_the_limit() -> None:
    """Counted at the ASGI level: the app never pulls the body past the limit."""
    pulled = 0
    chunk = b"a" * 1000

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < 10_000}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        raise AssertionError("read the whole body")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = RequestLimits(app, max_body_bytes=5_000)
    scope = {"type": "http", "method": "POST", "path": "/x", "raw_path": b"/x",
             "query_string": b"", "headers": []}
    # A thread of its own: a browser test may have left this thread's event loop running.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, send)).result()  # type: ignore[arg-type]
    assert pulled == 6
    assert sent[0]["status"] == 413


@pytest.mark.parametrize("last_event_id", ["²", "1¹", "9" * 30])
def test_odd_last_event_ids_resume_from_the_start(live_server: LiveServer,
                                                  last_event_id: str) -> None:
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        created = http.post(API, json={"locale": "en"}).json()
        headers = {"Authorization": f"Bearer {created['token']}",
                   # Header bytes are read as Latin-1: b"\xb2" arrives as "²", which
                   # str.isdigit() takes and int() refuses (this was a 500).
                   "Last-Event-ID": last_event_id.encode("latin-1")}
        with http.stream("GET", f"{API}/{created['id']}/events", headers=headers) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            assert next(lines).startswith("retry:")
            first_event = next(line for line in lines if line.startswith("event:"))
    # Not a number it can use: it resumes from the start (the greeting comes again); past
    # any sequence number: only the status.
    expected = "event: status" if last_event_id.isascii() else "event: message"
    assert first_event == expected
