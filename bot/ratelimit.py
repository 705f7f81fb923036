"""A fixed-window rate limit per key (conversation, client address), expiring counters and the
console's login throttle: in memory for one process, in Redis when several workers must share
the count."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int = 60) -> bool:
        """Count one request for `key`; False when it is over `limit` in this window."""


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int = 60) -> bool:
        slot = int(time.time() // window)
        with self._lock:
            if len(self._counts) > 50_000:  # forget old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] == slot}
            count = self._counts.get((key, slot), 0) + 1
            self._counts[(key, slot)] = count
        return count <= limit


class RedisRateLimiter:
    def __init__(self, client: Any, prefix: str = "supportbot:rl:"):
        self._client = client
        self._prefix = prefix

    def hit(self, key: str, limit: int, window: int = 60) -> bool:
        slot = int(time.time() // window)
        name = f"{self._prefix}{key}:{slot}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(name)
            pipe.expire(name, window * 2)
            count, _ = pipe.execute()
        except Exception:  # Redis down: serve rather than refuse everyone
            return True
        return int(count) <= limit


class Counters(Protocol):
    """Small expiring integers shared by every worker (login failures, spent stream tickets)."""

    def incr(self, key: str, ttl: float) -> int:
        """Add one to `key` (0 if absent or expired), keep it `ttl` seconds more; the new value."""

    def get(self, key: str) -> int:
        """The value of `key`, 0 if absent or expired."""

    def put(self, key: str, value: int, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryCounters:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._values: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def incr(self, key: str, ttl: float) -> int:
        now = self._clock()
        with self._lock:
            if len(self._values) > 50_000:
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
            value = self._get(key, now) + 1
            self._values[key] = (value, now + ttl)
        return value

    def get(self, key: str) -> int:
        with self._lock:
            return self._get(key, self._clock())

    def put(self, key: str, value: int, ttl: float) -> None:
        with self._lock:
            self._values[key] = (value, self._clock() + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def _get(self, key: str, now: float) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        return value if expires > now else 0


class RedisCounters:
    """The counters in Redis; while Redis is unreachable, this process's own memory stands in
    (a warning is logged), so a Redis outage loosens the limits but never locks anyone out."""

    def __init__(self, client: Any, prefix: str = "supportbot:n:"):
        self._client = client
        self._prefix = prefix
        self._fallback = MemoryCounters()
        self._down = False

    def incr(self, key: str, ttl: float) -> int:
        def run() -> int:
            pipe = self._client.pipeline()
            pipe.incr(self._prefix + key)
            pipe.pexpire(self._prefix + key, max(1, int(ttl * 1000)))
            count, _ = pipe.execute()
            return int(count)

        return self._try(run, lambda: self._fallback.incr(key, ttl))

    def get(self, key: str) -> int:
        return self._try(
            lambda: int(self._client.get(self._prefix + key) or 0), lambda: self._fallback.get(key)
        )

    def put(self, key: str, value: int, ttl: float) -> None:
        self._try(
            lambda: self._client.set(self._prefix + key, value, px=max(1, int(ttl * 1000))),
            lambda: self._fallback.put(key, value, ttl),
        )

    def delete(self, key: str) -> None:
        self._try(lambda: self._client.delete(self._prefix + key), lambda: None)
        self._fallback.delete(key)

    def _try(self, work: Callable[[], T], fallback: Callable[[], T]) -> T:
        try:
            result = work()
        except Exception as exc:
            if not self._down:
                log.warning(
                    "Redis unreachable (%s); counting in this process until it is back", exc
                )
                self._down = True
            return fallback()
        if self._down:
            log.warning("Redis reachable again; counting there")
            self._down = False
        return result


class LoginThrottle:
    """Failed console logins, counted per account and per address: after `free` failures each
    further attempt must wait, 1 s, then 2 s, 4 s ... up to `max_delay`. A success clears the
    account's count (not the address's: one good password must not reset a guessing run)."""

    def __init__(
        self,
        counters: Counters,
        *,
        free: int = 5,
        max_delay: float = 900.0,
        clock: Callable[[], float] = time.time,
    ):
        self._counters = counters
        self._free = free
        self._max_delay = max_delay
        self._clock = clock

    @staticmethod
    def keys(email: str, address: str) -> tuple[str, str]:
        return f"login:account:{email.strip().lower()}", f"login:address:{address}"

    def wait_seconds(self, email: str, address: str) -> float:
        """How long this attempt must wait (0: go ahead)."""
        now = self._clock()
        until = max(self._counters.get(f"{key}:until") for key in self.keys(email, address))
        return max(0.0, until / 1000 - now)

    def failed(self, email: str, address: str) -> None:
        now = self._clock()
        remember = self._max_delay * 4
        for key in self.keys(email, address):
            failures = self._counters.incr(key, remember)
            if failures >= self._free:
                delay = min(self._max_delay, 2.0 ** (failures - self._free))
                self._counters.put(f"{key}:until", int((now + delay) * 1000), delay)

    def succeeded(self, email: str) -> None:
        account, _ = self.keys(email, "")
        self._counters.delete(account)
        self._counters.delete(f"{account}:until")
