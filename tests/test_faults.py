"""Faults (issue 15): PostgreSQL down and back, Redis down and back. Each test runs its own
throwaway server on a free port, never the shared one other tests use."""

from __future__ import annotations

import asyncio
import glob
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from bot.events import RedisBus
from bot.models import Delivery
from ingest.embed import HashEmbedder
from tests.conftest import free_port, make_settings, need

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class OwnPostgres:
    """A PostgreSQL cluster in a temporary folder, on a port of its own."""

    def __init__(self) -> None:
        need("PostgreSQL server binaries", bool(PG_BIN), "install postgresql")
        self.bin = Path(PG_BIN[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
        os.chmod(self.dir, 0o777)
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run(
            as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "-A", "trust"]),
            check=True, capture_output=True,
        )

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", *args]),
            check=True, capture_output=True, timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.pg_ctl("-o", options, "-l", str(self.dir / "log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def remove(self) -> None:
        with _quiet():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return True


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    server.start()
    yield server
    server.remove()


def test_postgres_down_fails_fast_with_503_and_recovers(
    own_postgres: OwnPostgres, tmp_path: Path, sample_index: Path
) -> None:
    settings = make_settings(tmp_path, index_dir=sample_index, database_url=own_postgres.url)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        assert client.post("/api/v1/conversations", json={}).status_code == 201

        own_postgres.stop()
        started = time.monotonic()
        down = client.post("/api/v1/conversations", json={})
        elapsed = time.monotonic() - started

        own_postgres.start()
        back = [client.post("/api/v1/conversations", json={}).status_code for _ in range(3)]

    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable"
    assert set(down.json()["error"]) == {"code", "message"}
    assert down.headers["retry-after"] == "5"
    assert elapsed < 6, f"took {elapsed:.1f} s to fail"
    assert back == [201, 201, 201]  # the pool reconnected by itself


# -- Redis -------------------------------------------------------------------------------------


class OwnRedis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        need("redis-server", binary is not None, "install redis-server")
        self.binary = str(binary)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with _quiet():
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def in_thread(coroutine: Any) -> Any:
    """asyncio.run on a thread of its own (browser tests keep a loop on the main thread)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    if "error" in result:
        raise result["error"]
    return result["value"]


async def deliver(publisher: RedisBus, subscriber: Any, event: dict[str, Any]) -> Any:
    await asyncio.to_thread(publisher.publish, "conversation:x", event)
    return await subscriber.next(5)


def test_redis_down_falls_back_to_local_events_and_recovers(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    worker_a = RedisBus(own_redis.url, retry_seconds=0.2)
    worker_b = RedisBus(own_redis.url, retry_seconds=0.2)

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with worker_a.subscribe("conversation:x") as on_a:
            seen["across workers"] = await deliver(worker_b, on_a, {"event": "m", "id": 1})
            own_redis.stop()
            seen["down, same worker"] = await deliver(worker_a, on_a, {"event": "m", "id": 2})
            seen["degraded"] = worker_a.degraded
            own_redis.start()
            await asyncio.sleep(1.0)  # the subscriber re-subscribes within retry_seconds
            seen["back, across workers"] = await deliver(worker_b, on_a, {"event": "m", "id": 3})
            seen["back, same worker"] = await deliver(worker_a, on_a, {"event": "m", "id": 4})
            seen["recovered"] = not worker_a.degraded
        await worker_a.close()
        await worker_b.close()
        return seen

    with caplog.at_level(logging.WARNING, logger="bot.events"):
        seen = in_thread(scenario())

    assert seen["across workers"] == {"event": "m", "id": 1}
    assert seen["down, same worker"] == {"event": "m", "id": 2}
    assert seen["degraded"] is True
    assert seen["back, across workers"] == {"event": "m", "id": 3}
    assert seen["back, same worker"] == {"event": "m", "id": 4}
    assert seen["recovered"] is True
    messages = [r.getMessage() for r in caplog.records]
    assert any("Redis unreachable" in m and "within this process" in m for m in messages)
    assert any("Redis reachable again" in m for m in messages)


# -- the webhook receiver down for an hour -----------------------------------------------------


def test_a_receiver_down_for_an_hour_gets_every_handoff_once_afterwards(
    tmp_path: Path, sample_index: Path, database_url: str
) -> None:
    import datetime as dt

    import httpx

    from bot.deliveries import DELIVERY_HEADER
    from tests.conftest import Visitor

    # (outbox rows are stamped with the real time when queued, so the simulation starts now)
    now = [dt.datetime.now(dt.UTC)]
    down = [True]
    received: list[tuple[str, str]] = []  # (delivery id, conversation id)
    refused = [0]

    def receiver(request: httpx.Request) -> httpx.Response:
        if down[0]:
            refused[0] += 1
            raise httpx.ConnectError("connection refused", request=request)
        body = json.loads(request.content)
        received.append((request.headers[DELIVERY_HEADER], body["data"]["conversation_id"]))
        return httpx.Response(204)

    settings = make_settings(
        tmp_path, index_dir=sample_index, database_url=database_url,
        webhook_url="https://hooks.example/handoff", delivery_poll_seconds=0.05,
        delivery_backoff_seconds=5, delivery_backoff_max_seconds=600,
    )
    context = AppContext.build(
        settings, embedder=HashEmbedder(64), clock=lambda: now[0],
        webhook_transport=httpx.MockTransport(receiver),
    )
    with TestClient(create_app(context=context)) as client:
        handed_off = []
        for _ in range(12):
            visitor = Visitor(client)
            visitor.say("talk to a human")
            handed_off.append(visitor.id)

        def advance(seconds: float) -> None:
            # The app's own worker runs too: a second deliverer racing this one, as a second
            # process would.
            now[0] += dt.timedelta(seconds=seconds)
            context.deliveries.deliver_due(limit=100)

        for _ in range(120):  # one simulated hour, a look every 30 s
            advance(30)
        attempts_while_down = refused[0]
        down[0] = False
        for _ in range(60):  # the next ten minutes (the backoff is capped at 600 s)
            advance(10)
        time.sleep(0.5)  # let a round of the background worker in flight finish
        with context.db.session() as session:
            left = [(d.attempts, d.last_error, d.next_attempt_at, now[0])
                    for d in session.query(Delivery).filter(Delivery.delivered_at.is_(None))]

    assert not left, left[:3]
    assert sorted(c for _, c in received) == sorted(handed_off)  # every one, exactly once
    assert len({d for d, _ in received}) == len(received)
    # backoff, not hammering: 12 items over an hour at 5, 10, 20 ... 600 s
    assert 12 * 5 <= attempts_while_down <= 12 * 20
