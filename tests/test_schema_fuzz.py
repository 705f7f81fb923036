"""Schemathesis against our own OpenAPI schema, on SQLite and on PostgreSQL: valid and
invalid requests to every JSON operation, with a real conversation and its token so the
bodies get past authorisation. No request may get a 500, and every status and body must be
one the schema documents.

Bounded for the default run (`FUZZ_EXAMPLES` per operation and mode, about a minute per
backend here); `SUPPORTBOT_FUZZ_EXAMPLES=1000 pytest tests/test_schema_fuzz.py` digs deeper.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from sqlalchemy import select

from bot import agents
from bot.app import create_app
from bot.context import AppContext
from bot.models import Handoff
from ingest.embed import HashEmbedder
from tests.conftest import make_settings

FUZZ_EXAMPLES = int(os.environ.get("SUPPORTBOT_FUZZ_EXAMPLES", "20"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def fuzzed_app(tmp_path: Path, sample_index: Path, database_url: str) -> Iterator[FastAPI]:
    config = make_settings(
        tmp_path, index_dir=sample_index, database_url=database_url, rate_limit_per_minute=100_000
    )
    app = create_app(context=AppContext.build(config, embedder=HashEmbedder(64)))
    with TestClient(app):  # runs the lifespan: index loaded, workers started
        yield app


@pytest.fixture
def tokens(fuzzed_app: FastAPI) -> dict[str, str]:
    """A conversation and its token (visitor API); an agent API token and a real handoff
    (agent API), so generated requests get past authorisation to the code behind it."""
    context: AppContext = fuzzed_app.state.context
    # Not `with`: the app is already running (fuzzed_app); a second lifespan would close the
    # context's services when it ends, under the fuzzer's feet.
    client = TestClient(fuzzed_app)
    created = [client.post("/api/v1/conversations", json={"locale": "en"}) for _ in "ab"]
    assert all(response.status_code == 201 for response in created)
    visitor, handed = (response.json() for response in created)
    asked = client.post(
        f"/api/v1/conversations/{handed['id']}/handoff",
        headers={"Authorization": f"Bearer {handed['token']}"},
    )
    assert asked.status_code == 200
    with context.db.session() as session:
        agent = agents.create_agent(
            session=session, email="fuzz@fjeldfels.example", name="Fuzz", password="x" * 16
        )
        agent_token = agents.issue_api_token(
            session=session, agent=agent, now=context.chat.clock(), days=1
        )
        handoff_id = session.scalars(select(Handoff.id)).one()
    return {
        "conversation_id": visitor["id"],
        "visitor": visitor["token"],
        "handoff_id": handoff_id,
        "agent": agent_token,
    }


def _operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(allow_x00=True)
    # The SSE stream never ends; its parameters have their own tests (test_hostile_input).
    schema = schema.exclude(path_regex=r"/events$")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_only_documented_answers(
    fuzzed_app: FastAPI, tokens: dict[str, str], mode: GenerationMode
) -> None:
    operations = _operations(fuzzed_app)
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            for name in ("conversation_id", "handoff_id"):
                if name in (case.path_parameters or {}):
                    case.path_parameters[name] = tokens[name]
            token = tokens["agent" if "/agent/" in case.path else "visitor"]
            headers = {"Authorization": f"Bearer {token}", **(case.headers or {})}
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:
            # Nothing to get wrong: an operation without parameters or body has no invalid
            # request in the negative mode.
            assert mode is GenerationMode.NEGATIVE, operation.label
