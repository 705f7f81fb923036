"""Links that work: `console_url` in the packet (and so in webhooks) comes from
SUPPORTBOT_PUBLIC_URL, and `supportbot serve` sets it to the address it listens on when unset."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from bot.app import create_app
from bot.config import Settings, listen_url
from bot.context import AppContext
from bot.db import Database
from bot.models import Handoff
from ingest.embed import HashEmbedder
from tests.conftest import ALWAYS_OPEN, HASH_MODEL, ROOT, Visitor, free_port, make_settings
from tests.factories import supportbot_env


def test_public_url_is_checked_and_trimmed(tmp_path: Path) -> None:
    assert make_settings(tmp_path).public_base_url == "http://127.0.0.1:8000"
    settings = make_settings(tmp_path, public_url="https://support.example/help/")
    assert settings.public_base_url == "https://support.example/help"
    for wrong in ("support.example", "ftp://support.example", "https://support.example/?x=1"):
        with pytest.raises(ValidationError, match="public_url"):
            Settings(_env_file=None, public_url=wrong)  # type: ignore[call-arg]


def test_listen_url_names_a_reachable_host() -> None:
    assert listen_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert listen_url("::1", 8123) == "http://[::1]:8123"
    wildcard = listen_url("0.0.0.0", 8123)
    assert wildcard.endswith(":8123")
    assert "0.0.0.0" not in wildcard  # a link to 0.0.0.0 works on no other machine


def test_console_url_in_the_packet_uses_the_public_url(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(
        tmp_path, index_dir=sample_index, public_url="https://support.example/"
    )
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        visitor = Visitor(client)
        response = client.post(
            f"/api/v1/conversations/{visitor.id}/handoff", headers=visitor.headers, json={}
        )
        assert response.status_code == 200, response.text
    with context.db.session() as session:
        packet = session.scalars(select(Handoff.packet)).one()
    assert packet["console_url"] == f"https://support.example/console/conversations/{visitor.id}"


def test_serve_links_to_the_port_it_listens_on(tmp_path: Path, sample_index: Path) -> None:
    """`supportbot serve --port N` (what `make run PORT=N` runs) without SUPPORTBOT_PUBLIC_URL:
    the packet's link points at port N, not at the default 8000."""
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    env = supportbot_env(
        environment="test",
        index_dir=sample_index,
        database_url=database_url,
        embedding_model=HASH_MODEL,
        business_hours=ALWAYS_OPEN,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.3)
        created = httpx.post(f"{base}/api/v1/conversations", json={"locale": "en"}).json()
        handoff = httpx.post(
            f"{base}/api/v1/conversations/{created['id']}/handoff",
            headers={"Authorization": f"Bearer {created['token']}"},
            json={},
        )
        assert handoff.status_code == 200, handoff.text
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert f"links point to {base}" in stderr
    db = Database(database_url)
    try:
        with db.session() as session:
            packet = session.scalars(select(Handoff.packet)).one()
    finally:
        db.dispose()
    assert packet["console_url"] == f"{base}/console/conversations/{created['id']}"
