"""`supportbot agents add|list|token`: agents are made from the command line, with the
password from a prompt or stdin, and can then log in to the console."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.cli import cli
from bot.config import get_settings
from bot.context import AppContext
from ingest.embed import HashEmbedder
from tests.conftest import make_settings
from tests.console_helpers import ConsoleAgent


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("SUPPORTBOT_ENVIRONMENT", "test")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_agents_add_list_and_login(cli_env: str, tmp_path: Path, sample_index: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["agents", "add", "Anna@Example.com", "--name", "Anna", "--password-stdin"],
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    assert "added anna@example.com (Anna, agent)" in added.output
    prompted = runner.invoke(
        cli,
        ["agents", "add", "lead@example.com", "--name", "Lea", "--role", "lead"],
        input="another good password\nanother good password\n",
    )
    assert prompted.exit_code == 0, prompted.output
    duplicate = runner.invoke(
        cli,
        ["agents", "add", "anna@example.com", "--name", "A", "--password-stdin"],
        input="a long enough password\n",
    )
    assert duplicate.exit_code == 2
    weak = runner.invoke(
        cli, ["agents", "add", "b@example.com", "--name", "B", "--password-stdin"], input="x\n"
    )
    assert weak.exit_code == 2
    listed = runner.invoke(cli, ["agents", "list"])
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["anna@example.com", "lead@example.com"]
    assert "lead" in lines[1]
    assert "password" not in listed.output
    token = runner.invoke(cli, ["agents", "token", "lead@example.com", "--days", "1"])
    assert token.exit_code == 0
    assert runner.invoke(cli, ["agents", "token", "nobody@example.com"]).exit_code == 2

    context = AppContext.build(
        make_settings(tmp_path, index_dir=sample_index, database_url=cli_env),
        embedder=HashEmbedder(64),
    )
    with TestClient(create_app(context=context)) as client:
        agent = ConsoleAgent(client, "anna@example.com", "a long enough password").login()
        assert agent.http.get("/console").context["login"].name == "Anna"
        api = client.get(
            "/api/v1/agent/stats",
            headers={"Authorization": f"Bearer {token.output.strip()}"},
        )
        assert api.status_code == 200
