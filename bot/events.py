"""Live events to widgets and consoles: in-process by default, Redis pub/sub across workers.

Events are notifications only; the database is the record. A subscriber that missed something
(reconnect, another worker) catches up from the messages table by sequence number, which is
why SSE resumes with `Last-Event-ID` without the bus keeping history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

Event = dict[str, Any]  # {"event": "message"|"status"|"typing"|"queue", "id"?: int, "data": {}}


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


CONSOLE_CHANNEL = "console"


class Subscription(Protocol):
    async def next(self, timeout: float) -> Event | None:
        """The next event, or None when `timeout` seconds pass without one."""


class EventBus(Protocol):
    def publish(self, channel: str, event: Event) -> None:
        """Send `event` to every current subscriber of `channel` (callable from any thread)."""

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Receive events published on `channel` from now on."""

    async def close(self) -> None: ...


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[Event]):
        self.queue = queue

    async def next(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class InProcessBus:
    """Subscribers are asyncio queues on the server's event loop; publishers may be threads."""

    def __init__(self, max_queue: int = 1000):
        self._subs: dict[str, set[asyncio.Queue[Event]]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max_queue = max_queue

    def publish(self, channel: str, event: Event) -> None:
        with self._lock:
            queues = list(self._subs.get(channel, ()))
        if not queues or self._loop is None:
            return
        for queue in queues:
            self._loop.call_soon_threadsafe(_offer, queue, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(self._max_queue)
        with self._lock:
            self._subs.setdefault(channel, set()).add(queue)
        try:
            yield _QueueSubscription(queue)
        finally:
            with self._lock:
                subs = self._subs.get(channel)
                if subs is not None:
                    subs.discard(queue)
                    if not subs:
                        del self._subs[channel]

    async def close(self) -> None:
        with self._lock:
            self._subs.clear()


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:  # a stalled client: drop, it catches up from the database
        log.warning("event queue full; dropping an event for a slow subscriber")


class RedisBus:
    """Pub/sub through Redis so an event published by one worker reaches every worker."""

    def __init__(self, url: str, prefix: str = "supportbot:"):
        import redis
        import redis.asyncio as aioredis

        self._url = url
        self._prefix = prefix
        self._sync = redis.Redis.from_url(url)
        self._async = aioredis.Redis.from_url(url)

    def publish(self, channel: str, event: Event) -> None:
        try:
            self._sync.publish(self._prefix + channel, json.dumps(event))
        except Exception:  # live updates are best effort; the database already has it
            log.exception("could not publish to Redis")

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        pubsub = self._async.pubsub()
        await pubsub.subscribe(self._prefix + channel)
        try:
            yield _RedisSubscription(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()

    def ping(self) -> bool:
        try:
            return bool(self._sync.ping())
        except Exception:
            return False

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._async.aclose()
        self._sync.close()


class _RedisSubscription:
    def __init__(self, pubsub: Any):
        self.pubsub = pubsub

    async def next(self, timeout: float) -> Event | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message and message.get("type") == "message":
                event: Event = json.loads(message["data"])
                return event
        return None


def make_bus(redis_url: str | None, *, prefix: str = "supportbot:") -> EventBus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
