"""A fixed-window rate limit per key (conversation, client address): in memory for one process,
in Redis when several workers must share the count."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


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
