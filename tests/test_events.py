"""Live events: SSE over a real socket, the in-process bus and the Redis bus."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.events import Event, EventBus, InProcessBus, RedisBus
from tests.conftest import REDIS_URL, LiveServer, Visitor, need, redis_available

TIMEOUT = httpx.Timeout(10.0)

def run_isolated(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: Playwright's sync API (browser tests in the same
    session) keeps an event loop running on the main thread."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    return result["value"]



@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=TIMEOUT) as client:
        yield client


def read_events(lines: Iterator[str], until: Callable[[list[dict[str, Any]]], bool],
                seconds: float = 10.0) -> list[dict[str, Any]]:
    """Parse the stream's lines into `{event, id, data}` dicts until `until(events)` holds."""
    deadline = time.monotonic() + seconds
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if time.monotonic() > deadline:
            break
        if not line:
            if "event" in current:
                current["data"] = json.loads(current.get("data", "null"))
                events.append(current)
                if until(events):
                    return events
            current = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        current[name] = value[1:] if value.startswith(" ") else value
    raise AssertionError(f"the stream ended or timed out after {events}")


def has_status(events: list[dict[str, Any]]) -> bool:
    return any(e["event"] == "status" for e in events)


def message_ids(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["id"]) for e in events if e["event"] == "message"]


def test_new_messages_arrive_as_events(http: httpx.Client) -> None:
    visitor = Visitor(http)  # type: ignore[arg-type]
    url = f"/api/v1/conversations/{visitor.id}/events"

    with http.stream("GET", url, headers=visitor.headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        caught_up = read_events(lines, has_status)
        assert message_ids(caught_up) == [1]  # the greeting
        assert caught_up[-1]["data"]["status"] == "bot"

        visitor.say("how do i return an item")
        live = read_events(lines, lambda events: len(message_ids(events)) >= 2)

    messages = [e["data"] for e in live if e["event"] == "message"]
    assert [(m["seq"], m["role"]) for m in messages] == [(2, "visitor"), (3, "bot")]
    assert messages[1]["kind"] == "answer"
    assert messages[1]["sources"][0]["article_id"] == "en/returns"


def test_a_handoff_sends_a_status_event(http: httpx.Client) -> None:
    visitor = Visitor(http)  # type: ignore[arg-type]
    url = f"/api/v1/conversations/{visitor.id}/events"

    with http.stream("GET", url, headers=visitor.headers) as response:
        lines = response.iter_lines()
        read_events(lines, has_status)
        visitor.say("talk to a human")
        events = read_events(lines, has_status)

    status = next(e for e in events if e["event"] == "status")["data"]
    assert status["status"] == "waiting"
    assert status["handoff"]["mode"] in ("live", "later", "email")


@pytest.mark.parametrize("resume", ["header", "query"])
def test_reconnect_replays_only_later_messages(http: httpx.Client, resume: str) -> None:
    visitor = Visitor(http)  # type: ignore[arg-type]
    visitor.say("how do i return an item")
    visitor.say("where is my parcel")
    url = f"/api/v1/conversations/{visitor.id}/events"
    headers = dict(visitor.headers)
    params = {}
    if resume == "header":
        headers["Last-Event-ID"] = "3"
    else:
        params["last_event_id"] = "3"

    with http.stream("GET", url, headers=headers, params=params) as response:
        events = read_events(response.iter_lines(), has_status)

    assert message_ids(events) == [4, 5]
    assert [e["id"] for e in events if e["event"] == "message"] == ["4", "5"]


def stream_ticket(http: httpx.Client, visitor: Visitor) -> str:
    response = http.post(f"/api/v1/conversations/{visitor.id}/stream-ticket",
                         headers=visitor.headers)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] <= 60
    return str(response.json()["ticket"])


def test_a_stream_ticket_opens_the_stream_once(http: httpx.Client) -> None:
    visitor = Visitor(http)  # type: ignore[arg-type]
    url = f"/api/v1/conversations/{visitor.id}/events"
    ticket = stream_ticket(http, visitor)

    with http.stream("GET", url, params={"ticket": ticket}) as response:
        assert response.status_code == 200
        events = read_events(response.iter_lines(), has_status)
    again = http.get(url, params={"ticket": ticket})

    assert message_ids(events) == [1]
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "unauthorized"


def test_a_ticket_opens_only_its_own_conversation(http: httpx.Client) -> None:
    visitor, other = Visitor(http), Visitor(http)  # type: ignore[arg-type]
    ticket = stream_ticket(http, visitor)

    response = http.get(f"/api/v1/conversations/{other.id}/events", params={"ticket": ticket})

    assert response.status_code == 401


def test_the_token_itself_is_never_taken_from_the_url(http: httpx.Client) -> None:
    visitor = Visitor(http)  # type: ignore[arg-type]

    response = http.get(f"/api/v1/conversations/{visitor.id}/events",
                        params={"access_token": visitor.token})

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("auth", "status"),
    [("none", 401), ("wrong", 401), ("wrong-query", 401), ("other", 404)],
)
def test_a_wrong_token_gets_no_stream(http: httpx.Client, auth: str, status: int) -> None:
    visitor = Visitor(http)  # type: ignore[arg-type]
    other = Visitor(http)  # type: ignore[arg-type]
    headers, params = {}, {}
    if auth == "wrong":
        headers = {"Authorization": "Bearer not-the-token"}
    elif auth == "wrong-query":
        params = {"access_token": "not-the-token"}
    elif auth == "other":
        headers = other.headers

    response = http.get(f"/api/v1/conversations/{visitor.id}/events", headers=headers,
                        params=params)

    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message"}


# -- the buses ---------------------------------------------------------------------------------


async def receive_from_thread(publisher: EventBus, subscriber: EventBus, channel: str,
                              event: Event) -> Event | None:
    """Subscribe on the loop, publish from another thread, return what arrived."""
    async with subscriber.subscribe(channel) as subscription:
        thread = threading.Thread(target=publisher.publish, args=(channel, event))
        thread.start()
        received = await subscription.next(5.0)
        thread.join(timeout=5)
        return received


def test_in_process_bus_from_a_thread_to_asyncio() -> None:
    bus = InProcessBus()
    event: Event = {"event": "message", "id": 7, "data": {"text": "hej"}}

    assert run_isolated(receive_from_thread(bus, bus, "conversation:abc", event)) == event


def test_in_process_bus_keeps_channels_apart() -> None:
    bus = InProcessBus()

    async def scenario() -> tuple[Event | None, Event | None]:
        async with bus.subscribe("conversation:a") as a, bus.subscribe("conversation:b") as b:
            bus.publish("conversation:a", {"event": "typing", "data": {}})
            return await a.next(1.0), await b.next(0.05)

    got_a, got_b = run_isolated(scenario())

    assert got_a == {"event": "typing", "data": {}}
    assert got_b is None
    bus.publish("conversation:a", {"event": "typing", "data": {}})  # nobody listens: no error


@pytest.mark.redis
def test_redis_bus_between_two_workers() -> None:
    need("Redis", redis_available(), f"set SUPPORTBOT_TEST_REDIS_URL; tried {REDIS_URL}")
    worker_a, worker_b = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    channel = f"conversation:{uuid.uuid4().hex}"
    event: Event = {"event": "message", "id": 3, "data": {"text": "Grüße 👋"}}

    async def scenario() -> Event | None:
        try:
            return await receive_from_thread(worker_a, worker_b, channel, event)
        finally:
            await worker_a.close()
            await worker_b.close()

    assert run_isolated(scenario()) == event


@pytest.mark.redis
def test_redis_bus_times_out_quietly() -> None:
    need("Redis", redis_available(), f"set SUPPORTBOT_TEST_REDIS_URL; tried {REDIS_URL}")
    bus = RedisBus(REDIS_URL)
    assert bus.ping()

    async def scenario() -> Event | None:
        try:
            async with bus.subscribe(f"conversation:{uuid.uuid4().hex}") as subscription:
                return await subscription.next(0.2)
        finally:
            await bus.close()

    assert run_isolated(scenario()) is None
