"""What the running app holds: settings, database, model, index, event bus, services.

Built cheaply by `AppContext.build`; the heavy parts (model, index, schema) load in `warm_up`,
which the app's lifespan calls once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.answer import AnswerComposer, make_composer
from bot.config import Settings
from bot.conversation import ChatService, Clock
from bot.db import Database, create_schema
from bot.events import EventBus, make_bus
from bot.language import warm_up as warm_up_language
from bot.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from bot.retrieval import IndexHolder
from ingest.embed import Embedder, make_embedder

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    db: Database
    embedder: Embedder
    index: IndexHolder
    bus: EventBus
    composer: AnswerComposer
    chat: ChatService
    limiter: RateLimiter
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        bus: EventBus | None = None,
        composer: AnswerComposer | None = None,
        clock: Clock | None = None,
    ) -> AppContext:
        db = Database(settings.database_url)
        embedder = embedder or make_embedder(settings.embedding_model, threads=1)
        legacy = settings.legacy_embedding_model
        index = IndexHolder(
            settings.index_dir,
            embedder,
            languages=settings.languages,
            default_language=settings.default_language,
            legacy=make_embedder(legacy, threads=1) if legacy else None,  # loads only if used
        )
        bus = bus or make_bus(settings.redis_url)
        composer = composer or make_composer(
            settings.llm_provider,
            settings.llm_model,
            timeout=settings.llm_timeout_seconds,
            max_chars=settings.answer_max_chars,
        )
        limiter: RateLimiter = MemoryRateLimiter()
        if settings.redis_url:
            import redis

            limiter = RedisRateLimiter(redis.Redis.from_url(settings.redis_url))
        chat = ChatService(
            db=db, index=index, composer=composer, bus=bus, settings=settings, clock=clock
        )
        return cls(settings, db, embedder, index, bus, composer, chat, limiter)

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

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        for task in self.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.bus.close()
        self.db.dispose()
