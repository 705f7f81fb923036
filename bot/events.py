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
    """Pub/sub through Redis so an event published by one worker reaches every worker.

    While Redis is unreachable the bus falls back to this process's own subscribers (a warning
    is logged once per outage): a widget and a console on the same worker still see each other
    live, the others catch up from the database when they reconnect. Subscribers keep trying
    to reach Redis again every `retry_seconds`, and publishing goes back to Redis as soon as a
    publish succeeds, so the bus recovers by itself."""

    def __init__(self, url: str, prefix: str = "supportbot:", retry_seconds: float = 1.0):
        import redis
        import redis.asyncio as aioredis

        self._url = url
        self._prefix = prefix
        self.retry_seconds = retry_seconds
        timeouts = {"socket_timeout": 2, "socket_connect_timeout": 2}
        self._sync = redis.Redis.from_url(url, **timeouts)
        self._async = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        self._local = InProcessBus()
        self._down = False
        self._state = threading.Lock()

    @property
    def degraded(self) -> bool:
        """True while events stay within this process (Redis unreachable)."""
        return self._down

    def publish(self, channel: str, event: Event) -> None:
        try:
            self._sync.publish(self._prefix + channel, json.dumps(event))
        except Exception as exc:  # live updates are best effort; the database already has it
            self._went_down(exc)
            self._local.publish(channel, event)
            return
        self._came_back()

    def _went_down(self, exc: Exception) -> None:
        with self._state:
            if self._down:
                return
            self._down = True
        log.warning(
            "Redis unreachable (%s): live events stay within this process until it is back", exc
        )

    def _came_back(self) -> None:
        with self._state:
            if not self._down:
                return
            self._down = False
        log.warning("Redis reachable again: live events are shared by every worker")

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        name = self._prefix + channel
        async with self._local.subscribe(channel) as local:
            subscription = _RedisSubscription(self, name, local)
            # Subscribed before the caller catches up from the database (see the module
            # docstring), when Redis lets us; otherwise the reader keeps trying.
            await subscription.connect()
            subscription.start()
            try:
                yield subscription
            finally:
                await subscription.close()

    def ping(self) -> bool:
        try:
            return bool(self._sync.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._local.close()
        with contextlib.suppress(Exception):
            await self._async.aclose()
        self._sync.close()


class _RedisSubscription:
    """Events from Redis and, while Redis is down, from this process, in one queue."""

    def __init__(self, bus: RedisBus, name: str, local: Subscription):
        self.bus = bus
        self.name = name
        self.local = local
        self.queue: asyncio.Queue[Event] = asyncio.Queue(1000)
        self.pubsub: Any = None
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> bool:
        pubsub = self.bus._async.pubsub()
        try:
            await pubsub.subscribe(self.name)
        except Exception as exc:
            self.bus._went_down(exc)
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            return False
        self.pubsub = pubsub
        return True

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self._read_redis()),
            asyncio.create_task(self._read_local()),
        ]

    async def _read_redis(self) -> None:
        while True:
            if self.pubsub is None and not await self.connect():
                await asyncio.sleep(self.bus.retry_seconds)
                continue
            try:
                while True:
                    message = await self.pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=1.0
                    )
                    if message and message.get("type") == "message":
                        _offer(self.queue, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.bus._went_down(exc)
                with contextlib.suppress(Exception):
                    await self.pubsub.aclose()
                self.pubsub = None
                await asyncio.sleep(self.bus.retry_seconds)

    async def _read_local(self) -> None:
        while True:
            event = await self.local.next(3600)
            if event is not None:
                _offer(self.queue, event)

    async def next(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.unsubscribe()
                await self.pubsub.aclose()


def make_bus(redis_url: str | None, *, prefix: str = "supportbot:") -> EventBus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
