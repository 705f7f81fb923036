"""The composition root: every service the running app holds, built once, and the background
workers it runs (index watcher, deliveries), started and stopped by the app's lifespan.

Built cheaply by `AppContext.build`; the heavy parts (model, index, schema) load in `warm_up`,
which the lifespan calls once. Tests pass fakes for the edges (embedder, bus, clock, the
webhook transport, the mailer) to `build`, never by reaching into a built context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot import privacy, queries
from bot.access import StreamTickets
from bot.answer import AnswerComposer, make_composer
from bot.batching import QueryBatcher
from bot.config import Settings
from bot.conversation import ChatService, Clock, system_clock
from bot.db import Database, create_schema
from bot.deliveries import HTTP_TIMEOUT_SECONDS, DeliveryWorker, Mailer, SmtpMailer
from bot.desk import AgentDesk
from bot.events import EventBus, make_bus
from bot.language import warm_up as warm_up_language
from bot.metrics import Metrics, QueueState, Snapshot
from bot.ratelimit import (
    Counters,
    LoginThrottle,
    MemoryCounters,
    MemoryRateLimiter,
    RateLimiter,
    RedisCounters,
    RedisRateLimiter,
)
from bot.serving import IndexHolder
from ingest.embed import Embedder, make_embedder

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    clock: Clock
    db: Database
    embedder: Embedder
    index: IndexHolder
    bus: EventBus
    composer: AnswerComposer
    limiter: RateLimiter
    chat: ChatService
    desk: AgentDesk
    deliveries: DeliveryWorker
    metrics: Metrics
    batcher: QueryBatcher
    logins: LoginThrottle
    tickets: StreamTickets
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        bus: EventBus | None = None,
        composer: AnswerComposer | None = None,
        clock: Clock | None = None,
        webhook_transport: httpx.BaseTransport | None = None,
        mailer: Mailer | None = None,
    ) -> AppContext:
        clock = clock or system_clock
        db = Database(settings.database_url)
        embedder = embedder or make_embedder(settings.embedding_model, threads=1)
        metrics = Metrics()
        batcher = QueryBatcher(
            embedder.embed_queries,
            max_batch=settings.query_batch_max,
            window_ms=settings.query_batch_window_ms,
            observe=metrics.observe_batch,
        )
        legacy = settings.legacy_embedding_model
        index = IndexHolder(
            settings.index_dir,
            embedder,
            languages=settings.languages,
            default_language=settings.default_language,
            encode_queries=batcher.embed,
            legacy=make_embedder(legacy, threads=1) if legacy else None,  # loads only if used
        )
        bus = bus or make_bus(settings.redis_url, prefix=settings.redis_prefix)
        composer = composer or make_composer(
            settings.llm_provider,
            settings.llm_model,
            timeout=settings.llm_timeout_seconds,
            max_chars=settings.answer_max_chars,
            redact_input=settings.redact_llm_input,
        )
        limiter: RateLimiter = MemoryRateLimiter()
        counters: Counters = MemoryCounters()
        if settings.redis_url:
            import redis

            shared = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
            limiter = RedisRateLimiter(shared, prefix=f"{settings.redis_prefix}rl:")
            counters = RedisCounters(shared, prefix=f"{settings.redis_prefix}n:")
        logins = LoginThrottle(
            counters, free=settings.login_free_failures, max_delay=settings.login_max_delay_seconds
        )
        tickets = StreamTickets(settings.secret_key, counters)
        chat = ChatService(
            db=db,
            index=index,
            composer=composer,
            bus=bus,
            settings=settings,
            clock=clock,
            encode_ahead=batcher.encode_ahead,
        )
        desk = AgentDesk(db=db, bus=bus, settings=settings, clock=clock)
        http = httpx.Client(transport=webhook_transport, timeout=HTTP_TIMEOUT_SECONDS)
        if mailer is None and settings.smtp_host:
            mailer = SmtpMailer(settings.smtp_host, settings.smtp_port)
        deliveries = DeliveryWorker(
            db=db, settings=settings, client=http, mailer=mailer, clock=clock
        )
        context = cls(
            settings,
            clock,
            db,
            embedder,
            index,
            bus,
            composer,
            limiter,
            chat,
            desk,
            deliveries,
            metrics,
            batcher,
            logins=logins,
            tickets=tickets,
        )
        metrics.watch(
            Snapshot(
                queue=context.handoff_queue,
                index_version=lambda: index.current.index.name if index.current else None,
                model=embedder.name,
                encoder_queue=batcher.queued,
            )
        )
        context._closers += [http.close, batcher.close]
        return context

    def handoff_queue(self) -> QueueState:
        with self.db.session() as session:
            waiting, oldest = queries.unanswered_handoffs(session=session, now=self.clock())
        return QueueState(waiting, oldest)

    def warm_up(self) -> None:
        """Schema, model, detector and index: everything slow, once, before serving."""
        create_schema(self.db.engine)
        self.embedder.warm_up()
        warm_up_language(self.settings.languages)
        if not self.index.refresh() and self.index.current is None:
            log.warning(
                "no index loaded from %s: %s",
                self.settings.index_dir,
                self.index.last_error or "run `supportbot ingest`",
            )

    def start_workers(self) -> None:
        """The background work of a serving process: notice new index versions, deliver
        webhooks and emails. Called by the app's lifespan, once."""
        self._run(self.watch_index())
        self._run(self.deliveries.run())
        if self.settings.retention_days:
            self._run(self.purge_expired())

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        self.background.append(asyncio.create_task(work))

    async def watch_index(self) -> None:
        """Swap in a newly published index version within `index_poll_seconds`."""
        while True:
            await asyncio.sleep(self.settings.index_poll_seconds)
            try:
                if await asyncio.to_thread(self.index.refresh):
                    log.info(
                        "now serving index %s", self.index.current and self.index.current.index.name
                    )
            except Exception:
                log.exception("index refresh failed; still serving the previous version")

    async def purge_expired(self) -> None:
        """Delete conversations older than `retention_days`, now and every poll interval."""
        days = self.settings.retention_days
        assert days is not None
        while True:
            try:
                counts = await asyncio.to_thread(self.purge_once, days)
                if any(counts.values()):
                    log.info("retention: deleted %s", counts)
            except Exception:
                log.exception("retention purge failed; trying again later")
            await asyncio.sleep(self.settings.retention_poll_seconds)

    def purge_once(self, days: int) -> dict[str, int]:
        with self.db.session() as session:
            return privacy.purge(session=session, now=self.clock(), days=days)

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        for task in self.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.background.clear()
        await self.bus.close()
        for closer in self._closers:
            closer()
        self.db.dispose()
