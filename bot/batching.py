"""Micro-batching of the visitors' questions: those that arrive together are encoded together.

A model encodes a batch of short questions several times faster per question than one at a
time, and a server under load gets many questions at once, each on its own request thread.
`QueryBatcher` puts them in one queue; one encoder thread takes whatever is waiting (up to
`max_batch` texts), encodes it in one call and hands each caller its rows.

A lone visitor pays no extra wait: when nothing else is queued the question is encoded at
once. Only when others are already waiting (the server is busy) does the encoder give
stragglers up to `window_ms` to join the batch. The batcher wraps any encode function
(`embedder.embed`, or a backend's query encoder), so it works with whichever model serves.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.embed import Vectors

Encode = Callable[[Sequence[str]], Vectors]
# Told after every batch: texts in it, seconds encoding, seconds each caller waited in the queue.
Observer = Callable[[int, float, Sequence[float]], None]

DEFAULT_MAX_BATCH = 32
DEFAULT_WINDOW_MS = 1.0
AHEAD = 1024  # vectors encoded ahead and not yet used, at most (see `encode_ahead`)


@dataclass(eq=False)
class _Pending:
    texts: list[str]
    queued_at: float
    done: threading.Event = field(default_factory=threading.Event)
    vectors: Vectors | None = None
    error: BaseException | None = None


class QueryBatcher:
    """Encodes queries from many threads in shared batches, on one encoder thread.

    `embed(texts)` has the embedder's signature and blocks its caller (a request's worker
    thread, never the event loop) until its rows are ready. The encoder thread starts on first
    use; `close()` stops it.
    """

    def __init__(
        self,
        encode: Encode,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        window_ms: float = DEFAULT_WINDOW_MS,
        observe: Observer | None = None,
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._encode = encode
        self.max_batch = max_batch
        self.window = max(0.0, window_ms) / 1000
        self._observe = observe
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._ahead: OrderedDict[str, Vectors] = OrderedDict()

    def encode_ahead(self, text: str) -> None:
        """Encode a question before the turn's database transaction opens, so the encode (the
        slow part) batches with other visitors' instead of waiting its turn for SQLite's write
        lock; retrieval inside the transaction then takes the vector from here, once (a second
        visitor asking the same words is encoded again: this is a hand-over, not a cache)."""
        vectors = self.embed([text])
        with self._cond:
            self._ahead[text] = vectors
            if len(self._ahead) > AHEAD:  # encoded ahead but never asked for (an agent's chat)
                self._ahead.popitem(last=False)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        """The vectors of `texts`, encoded together with whatever else is waiting."""
        texts = list(texts)
        if len(texts) == 1:
            with self._cond:
                known = self._ahead.pop(texts[0], None)  # handed over once, not a cache
            if known is not None:
                return known
        if len(texts) >= self.max_batch:  # a batch of its own already (not a visitor's query)
            return self._encode(texts)
        pending = _Pending(texts, time.perf_counter())
        with self._cond:
            if self._closed:
                raise RuntimeError("the query batcher is closed")
            self._start()
            self._queue.append(pending)
            self._cond.notify_all()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.vectors is not None
        return pending.vectors

    def queued(self) -> tuple[int, float]:
        """Questions waiting for the encoder now, and how long the oldest has waited (s)."""
        with self._cond:
            if not self._queue:
                return 0, 0.0
            return len(self._queue), time.perf_counter() - self._queue[0].queued_at

    def close(self) -> None:
        """Finish what is queued, then stop the encoder thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="query-batcher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._encode_batch(batch)

    def _next_batch(self) -> list[_Pending] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            size = len(batch[0].texts)
            if self._queue and self.window > 0:
                # Busy: others queued while the last batch encoded. Let stragglers join for a
                # moment rather than start a batch that the next arrival just misses.
                deadline = time.perf_counter() + self.window
                while size + len(self._queue) < self.max_batch and not self._closed:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            while self._queue and size + len(self._queue[0].texts) <= self.max_batch:
                item = self._queue.popleft()
                batch.append(item)
                size += len(item.texts)
            return batch

    def _encode_batch(self, batch: list[_Pending]) -> None:
        texts = [text for pending in batch for text in pending.texts]
        started = time.perf_counter()
        try:
            vectors = np.asarray(self._encode(texts), dtype=np.float32)
        except BaseException as exc:  # every waiting caller gets the error, not a hang
            for pending in batch:
                pending.error = exc
                pending.done.set()
            return
        elapsed = time.perf_counter() - started
        start = 0
        for pending in batch:
            pending.vectors = vectors[start : start + len(pending.texts)]
            start += len(pending.texts)
            pending.done.set()
        if self._observe is not None:
            self._observe(len(texts), elapsed, [started - p.queued_at for p in batch])
