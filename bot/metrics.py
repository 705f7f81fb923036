"""What `/metrics` reports, in Prometheus' text format: request latency, the bot's outcomes,
the handoff queue, the index serving, and how the visitors' questions are encoded.

Counters and histograms are updated as things happen; the queue and the index are read when
Prometheus scrapes, so they are never stale. Each app has its own registry (tests build many
apps in one process). With several worker processes each reports its own figures; Prometheus
sums them across targets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ENCODE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True)
class QueueState:
    """Handed-off chats nobody has answered yet, and how long the oldest has waited."""

    waiting: int
    oldest_seconds: float


@dataclass(frozen=True)
class Snapshot:
    """Read at scrape time: the handoff queue, the index version, the encoder's queue."""

    queue: Callable[[], QueueState]
    index_version: Callable[[], str | None]
    model: str
    encoder_queue: Callable[[], tuple[int, float]]


class Metrics:
    """One app's metrics. `snapshot` (set by the composition root) feeds the scrape-time
    gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "supportbot_http_request_duration_seconds",
            "Time to the response's first byte (an SSE stream: until it opens), by route.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.replies = Counter(
            "supportbot_bot_replies",
            "The bot's replies to visitors by outcome: answer, clarify or handoff.",
            ["kind"],
            registry=self.registry,
        )
        self.encode_seconds = Histogram(
            "supportbot_query_encode_seconds",
            "Time the model took to encode one batch of visitors' questions.",
            buckets=ENCODE_BUCKETS,
            registry=self.registry,
        )
        self.encode_batch = Histogram(
            "supportbot_query_encode_batch_size",
            "Questions encoded together in one batch.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.encode_wait = Histogram(
            "supportbot_query_encode_wait_seconds",
            "Time a question waited for the encoder before its batch started.",
            buckets=ENCODE_BUCKETS,
            registry=self.registry,
        )
        for kind in ("answer", "clarify", "handoff"):
            self.replies.labels(kind=kind)  # show zeros before the first reply

    def watch(self, snapshot: Snapshot) -> None:
        self.registry.register(_SnapshotCollector(snapshot))

    def observe_batch(self, size: int, seconds: float, waits: Sequence[float]) -> None:
        """A `bot.batching.QueryBatcher` observer."""
        self.encode_batch.observe(size)
        self.encode_seconds.observe(seconds)
        for wait in waits:
            self.encode_wait.observe(wait)

    def reply(self, kind: str) -> None:
        self.replies.labels(kind=kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot):
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        queue = self._snapshot.queue()
        yield GaugeMetricFamily(
            "supportbot_handoff_queue_length",
            "Handed-off chats waiting for an agent's first reply.",
            value=queue.waiting,
        )
        yield GaugeMetricFamily(
            "supportbot_handoff_queue_oldest_wait_seconds",
            "How long the longest-waiting unanswered handoff has waited.",
            value=queue.oldest_seconds,
        )
        info = GaugeMetricFamily(
            "supportbot_index_info",
            "The index version serving (value 1), with the model that encodes queries.",
            labels=["version", "model"],
        )
        version = self._snapshot.index_version()
        if version is not None:
            info.add_metric([version, self._snapshot.model], 1)
        yield info
        waiting, oldest = self._snapshot.encoder_queue()
        yield GaugeMetricFamily(
            "supportbot_query_encode_queue_length",
            "Questions waiting for the encoder right now.",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "supportbot_query_encode_queue_oldest_seconds",
            "How long the oldest question waiting for the encoder has waited.",
            value=oldest,
        )


class RequestTimer:
    """ASGI middleware: each HTTP request's time to its first response byte, by route template
    (never the raw path, which would make a series per conversation id)."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        observed = False

        def observe() -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            route = scope.get("route")
            path = getattr(route, "path", None) or "other"
            self.metrics.requests.labels(
                method=scope["method"], route=path, status=str(status["code"])
            ).observe(time.perf_counter() - started)

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                observe()
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe()
