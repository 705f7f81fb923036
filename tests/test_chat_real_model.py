"""The bundled all-MiniLM-L6-v2 on the sample knowledge base, through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from tests.conftest import SAMPLE_KB, Visitor, build_index, make_settings

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Path:
    index_dir = tmp_path_factory.mktemp("real") / "index"
    build_index(SAMPLE_KB, index_dir, embedder=real_embedder)
    return index_dir


@pytest.fixture
def real_client(tmp_path: Path, real_index: Path, real_embedder: Any) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, index_dir=real_index, embedding_model=real_embedder.name)
    context = AppContext.build(settings, embedder=real_embedder)
    with TestClient(create_app(context=context)) as client:
        yield client


def test_returning_a_jacket_is_answered_with_the_returns_article(real_client: TestClient) -> None:
    reply = Visitor(real_client).say("how do i send back my jacket")["reply"]

    assert reply["kind"] == "answer"
    assert reply["sources"][0]["article_id"] == "en/returns"
    assert reply["lang"] == "en"


def test_a_german_question_gets_a_german_article(real_client: TestClient) -> None:
    reply = Visitor(real_client, locale="en").say("wo ist mein paket")["reply"]

    assert reply["kind"] in ("answer", "clarify")
    assert reply["lang"] == "de"
    assert reply["sources"][0]["article_id"].startswith("de/")
    if reply["kind"] == "answer":
        assert reply["sources"][0]["article_id"] == "de/order-tracking"


def test_something_the_shop_does_not_cover_is_not_answered(real_client: TestClient) -> None:
    reply = Visitor(real_client).say("do you sell kayaks")["reply"]

    assert reply["kind"] in ("handoff", "clarify")


def test_the_health_check_names_the_real_model(real_client: TestClient,
                                               real_embedder: Any) -> None:
    data = real_client.get("/healthz").json()

    assert data["model"] == real_embedder.name
    assert data["status"] == "ok"
