"""Scaled mode for real: two `supportbot serve` processes on one PostgreSQL database, one Redis
and one index folder, talked to over HTTP as a load balancer would spread one visitor's
requests. What one process does, the other must see: live events, idempotent messages, rate
limits, a newly published index."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from benchmarks.servers import ServerGroup
from bot.db import Database, drop_schema
from ingest.store import current_version
from tests.conftest import ALWAYS_OPEN, HASH_MODEL, REDIS_URL, SAMPLE_KB, need, redis_available
from tests.factories import run_ingest, write_article
from tests.test_handoff_live import sse_events, until

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.scaled]

RATE_LIMIT = 12
PUBLISH_WITHIN_SECONDS = 10.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Any]:
    need("Redis", redis_available(), f"set SUPPORTBOT_TEST_REDIS_URL; tried {REDIS_URL}")
    tmp = tmp_path_factory.mktemp("scaled")
    kb = tmp / "kb"
    shutil.copytree(SAMPLE_KB, kb)
    run_ingest(kb, tmp / "index")
    db = Database(postgres_url)
    drop_schema(db.engine)  # both servers start on an empty database and migrate at once
    settings = {
        "environment": "test",
        "database_url": postgres_url,
        "redis_url": REDIS_URL,
        # Redis is shared with other test runs: keys and channels of this run only.
        "redis_prefix": f"supportbot-test-{uuid.uuid4().hex[:12]}:",
        "index_dir": tmp / "index",
        "kb_dir": kb,
        "embedding_model": HASH_MODEL,
        "index_poll_seconds": 0.5,
        "business_hours": ALWAYS_OPEN,
        "rate_limit_per_minute": RATE_LIMIT,
    }
    with ServerGroup(2, settings=settings, log_dir=tmp / "logs") as group:
        yield SimpleNamespace(urls=group.urls, db=db, kb=kb, index_dir=tmp / "index", group=group)
    db.dispose()


def test_workers_starting_together_migrate_one_at_a_time(postgres_url: str) -> None:
    from bot.migrate import upgrade

    db = Database(postgres_url)
    drop_schema(db.engine)
    engines = [Database(postgres_url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def migrate(database: Database) -> None:
        start.wait()
        try:
            upgrade(database.engine)
        except BaseException as exc:  # a lost race shows as a duplicate-table error
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(d,)) for d in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for database in engines:
        database.dispose()
    assert errors == []
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    drop_schema(db.engine)
    db.dispose()


def _conversation(url: str) -> tuple[str, dict[str, str], str]:
    response = httpx.post(f"{url}/api/v1/conversations", json={"locale": "en"}, timeout=10)
    assert response.status_code == 201, response.text
    data = response.json()
    return data["id"], {"Authorization": f"Bearer {data['token']}"}, data["token"]


def _say(url: str, cid: str, auth: dict[str, str], text: str, client_id: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/conversations/{cid}/messages",
        headers=auth,
        json={"client_id": client_id, "text": text},
        timeout=30,
    )


def test_an_agent_on_one_process_reaches_the_visitor_on_the_other(cluster: Any) -> None:
    from tests.agent_driver import AgentDriver

    one, two = cluster.urls
    agent = AgentDriver(one, cluster)  # logged in on process one: online, so handoffs are live
    try:
        cid, auth, _ = _conversation(two)
        handoff = httpx.post(f"{two}/api/v1/conversations/{cid}/handoff", headers=auth,
                             json={"reason": "visitor_request"}, timeout=10)
        assert handoff.status_code == 200, handoff.text
        ticket = httpx.post(f"{two}/api/v1/conversations/{cid}/stream-ticket", headers=auth,
                            timeout=10).json()["ticket"]
        with httpx.Client(base_url=two, timeout=15) as http, http.stream(
            "GET", f"/api/v1/conversations/{cid}/events", params={"ticket": ticket}
        ) as stream:
            assert stream.status_code == 200
            events = sse_events(stream)
            until(events, lambda e: e["event"] == "status")  # caught up
            agent.claim_and_reply(cid, "Hello from the other process.")
            got = until(
                events, lambda e: e["event"] == "message" and e["data"]["role"] == "agent"
            )
            assert got[-1]["data"]["text"] == "Hello from the other process."
    finally:
        agent.close()


def test_one_client_id_sent_to_both_processes_is_stored_once(cluster: Any) -> None:
    one, two = cluster.urls
    cid, auth, _ = _conversation(one)
    client_id = uuid.uuid4().hex
    start = threading.Barrier(2)
    results: dict[str, httpx.Response] = {}

    def send(url: str) -> None:
        start.wait()
        results[url] = _say(url, cid, auth, "How do I return an item?", client_id)

    threads = [threading.Thread(target=send, args=(url,)) for url in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [results[u].status_code for u in (one, two)] == [200, 200], results
    first, second = (results[u].json() for u in (one, two))
    assert first["message"]["id"] == second["message"]["id"]
    assert first["reply"]["id"] == second["reply"]["id"]
    messages = httpx.get(f"{two}/api/v1/conversations/{cid}/messages", headers=auth,
                         timeout=10).json()["messages"]
    assert [m["role"] for m in messages].count("visitor") == 1


def test_rate_limits_are_counted_across_processes(cluster: Any) -> None:
    for _attempt in range(2):  # a fixed one-minute window: retry if the minute turned over
        window = int(time.time() // 60)
        cid, auth, _ = _conversation(cluster.urls[0])
        statuses = [
            _say(cluster.urls[n % 2], cid, auth, f"question {n}", uuid.uuid4().hex).status_code
            for n in range(RATE_LIMIT + 2)
        ]
        if int(time.time() // 60) == window:
            break
    # Each process alone would have let RATE_LIMIT through; together they let RATE_LIMIT.
    assert statuses == [200] * RATE_LIMIT + [429, 429], statuses


def test_a_published_index_reaches_every_process_within_seconds(cluster: Any) -> None:
    write_article(cluster.kb, "en/lighthouse.md", title="Lighthouse tours",
                  body="The lighthouse keeper gives tours every Sunday at noon.\n")
    report = run_ingest(cluster.kb, cluster.index_dir)
    published = time.monotonic()
    assert report.published and current_version(cluster.index_dir) == report.version
    waiting = set(cluster.urls)
    seconds: dict[str, float] = {}
    while waiting and time.monotonic() - published < PUBLISH_WITHIN_SECONDS:
        for url in list(waiting):
            index = httpx.get(f"{url}/healthz", timeout=5).json()["index"]
            if index and index["version"] == report.version:
                seconds[url] = time.monotonic() - published
                waiting.discard(url)
        time.sleep(0.1)
    assert not waiting, f"still serving the old index after {PUBLISH_WITHIN_SECONDS} s: {waiting}"
    # ... and they answer from it.
    for url in cluster.urls:
        cid, auth, _ = _conversation(url)
        reply = _say(url, cid, auth, "When are the lighthouse keeper tours?",
                     uuid.uuid4().hex).json()["reply"]
        assert reply["sources"] and reply["sources"][0]["article_id"] == "en/lighthouse"

