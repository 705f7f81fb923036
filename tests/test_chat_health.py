"""`/healthz` and `/readyz`, a chat without an index, and a new index version going live."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.context import AppContext
from bot.models import Handoff
from bot.phrases import PHRASES
from ingest.embed import HashEmbedder
from ingest.store import current_version
from tests.conftest import Visitor, build_index, make_settings
from tests.kb_factory import write_article, write_tiny_kb


def test_healthz_tells_what_serves(client: TestClient, sample_index: Path) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    data = response.json()
    version = current_version(sample_index)
    manifest = json.loads((sample_index / str(version) / "manifest.json").read_text())
    assert data["status"] == "ok"
    assert data["model"] == "hash-64"
    assert data["database"] is True
    assert data["events"] == "in-process"
    assert data["index_error"] is None
    assert data["index"]["version"] == version
    assert data["index"]["articles"] == manifest["counts"]["articles"] > 0
    assert data["index"]["chunks"] == manifest["counts"]["chunks"] > 0
    assert data["index"]["calibrated"] is True  # conftest pins the test thresholds


def test_readyz_with_an_index(client: TestClient) -> None:
    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (200, {"ready": True})


@pytest.fixture
def unindexed(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, AppContext]]:
    empty = tmp_path / "no-index"
    empty.mkdir()
    settings = make_settings(tmp_path, index_dir=empty, database_url=database_url)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        yield client, context


def test_without_an_index_not_ready(unindexed: tuple[TestClient, AppContext]) -> None:
    client, _ = unindexed

    ready = client.get("/readyz")
    health = client.get("/healthz").json()

    assert (ready.status_code, ready.json()) == (503, {"ready": False})
    assert (health["status"], health["index"], health["database"]) == ("degraded", None, True)


def test_without_an_index_a_question_goes_to_a_person(
    unindexed: tuple[TestClient, AppContext],
) -> None:
    client, context = unindexed
    visitor = Visitor(client)

    reply = visitor.say("where is my parcel")["reply"]

    assert reply["kind"] == "handoff"
    assert reply["text"].startswith(PHRASES["en"]["why_no_index"])
    with context.db.session() as session:
        reasons = session.scalars(select(Handoff.reason)
                                  .where(Handoff.conversation_id == visitor.id)).all()
    assert list(reasons) == ["no_index"]
    assert visitor.say("it is order 4711")["reply"]["kind"] == "ack"  # waiting for a person now


def test_without_an_index_small_talk_still_works(
    unindexed: tuple[TestClient, AppContext],
) -> None:
    client, _ = unindexed

    assert Visitor(client).say("hello")["reply"]["kind"] == "smalltalk"


def test_a_new_version_goes_live_without_dropping_requests(
    tmp_path: Path, database_url: str
) -> None:
    kb_dir = write_tiny_kb(tmp_path / "kb")
    index_dir = tmp_path / "index"
    first = build_index(kb_dir, index_dir)
    settings = make_settings(tmp_path, index_dir=index_dir, database_url=database_url,
                             index_poll_seconds=0.1, rate_limit_per_minute=10_000)
    context = AppContext.build(settings, embedder=HashEmbedder(64))

    with TestClient(create_app(context=context)) as client:
        assert client.get("/healthz").json()["index"]["version"] == first
        visitor = Visitor(client)
        write_article(kb_dir, "en", "kayaks", "Kayak rental",
                      "We rent out sea kayaks at the Flensburg store on weekends.",
                      ("Do you rent kayaks?",))
        second = build_index(kb_dir, index_dir)

        serving, asked = first, 0
        deadline = time.monotonic() + 10
        while serving != second and time.monotonic() < deadline:
            asked += 1
            assert visitor.say(f"where is my parcel {asked}")["reply"]["kind"] in (
                "answer", "clarify")
            serving = client.get("/healthz").json()["index"]["version"]

        assert serving == second
        reply = visitor.say("do you rent kayaks")["reply"]
        assert (reply["kind"], reply["sources"][0]["article_id"]) == ("answer", "en/kayaks")
