"""Upgrading to multilingual-e5-small as the default: a bot whose model was left unset keeps
serving its all-MiniLM-L6-v2 index (with MiniLM) until the next ingestion re-embeds it with
e5, then serves e5 without a restart; a bot configured for e5 explicitly refuses the old
index as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.context import AppContext
from ingest.embed import E5_MODEL, MINILM_MODEL
from tests.conftest import ALWAYS_OPEN, Visitor, build_index
from tests.kb_factory import write_tiny_kb

pytestmark = pytest.mark.real_model


def settings_for(tmp: Path, **model: str) -> Settings:
    """Settings as an operator leaves them: no embedding model unless `model` gives one."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        index_dir=tmp / "index",
        database_url=f"sqlite:///{tmp / 'db.sqlite3'}",
        business_hours=ALWAYS_OPEN,
        **model,
    )


@pytest.fixture
def old_index(tmp_path: Path, real_embedder: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SUPPORTBOT_EMBEDDING_MODEL", raising=False)
    kb = write_tiny_kb(tmp_path / "kb")
    build_index(kb, tmp_path / "index", real_embedder)
    return kb


def test_the_old_default_serves_until_ingestion_re_embeds_with_e5(
    tmp_path: Path, old_index: Path, real_e5: Any
) -> None:
    context = AppContext.build(settings_for(tmp_path))
    with TestClient(create_app(context=context)) as client:
        health = client.get("/healthz").json()
        assert (health["model"], health["index_error"]) == (MINILM_MODEL, None)
        reply = Visitor(client).say("where is my parcel")["reply"]
        assert reply["sources"][0]["article_id"] == "en/tracking"

        build_index(old_index, tmp_path / "index", real_e5)  # `supportbot ingest`
        assert context.index.refresh() is True

        assert client.get("/healthz").json()["model"] == E5_MODEL
        reply = Visitor(client).say("wo ist mein Paket")["reply"]
        assert reply["sources"][0]["article_id"] == "de/tracking"


def test_a_bot_configured_for_e5_refuses_the_old_index(tmp_path: Path, old_index: Path) -> None:
    context = AppContext.build(settings_for(tmp_path, embedding_model=E5_MODEL))
    with TestClient(create_app(context=context)) as client:
        health = client.get("/healthz").json()

    assert health["index"] is None and health["model"] == E5_MODEL
    assert f"built with '{MINILM_MODEL}' but the configured model is '{E5_MODEL}'" in (
        health["index_error"]
    )
