"""`/metrics` in Prometheus' text format, who may read it, and the rate-limit defaults that let
many visitors behind one address in while each conversation stays limited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.context import AppContext
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings

API = "/api/v1/conversations"


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def app_client(tmp_path: Path, sample_index: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, index_dir=sample_index)
    with TestClient(create_app(context=AppContext.build(settings, embedder=HashEmbedder(64)))) as c:
        yield c


def test_metrics_count_replies_requests_encodes_and_the_queue(app_client: TestClient) -> None:
    before = samples(app_client)
    assert value(before, "supportbot_bot_replies_total", kind="answer") == 0
    visitor = Visitor(app_client)
    seen = [visitor.say("How do I return an item?")["reply"]["kind"]]
    handoff = app_client.post(f"{API}/{visitor.id}/handoff", headers=visitor.headers, json={})
    assert handoff.status_code == 200, handoff.text
    seen.append(handoff.json()["reply"]["kind"])
    # In the queue the bot still answers a question it is sure of (or acknowledges once).
    queued = visitor.say("Where is my parcel?")["reply"]
    seen.append(queued["kind"] if queued else None)

    after = samples(app_client)
    for kind in ("answer", "clarify", "handoff"):
        assert value(after, "supportbot_bot_replies_total", kind=kind) == seen.count(kind)
    assert seen[1] == "handoff"
    route = "/api/v1/conversations/{conversation_id}/messages"
    assert value(after, "supportbot_http_request_duration_seconds_count",
                 method="POST", route=route, status="200") == 2
    # The first message is encoded ahead of its transaction; the second, once the team has the
    # chat, only when the bot checks whether it can answer it from the queue.
    assert value(after, "supportbot_query_encode_batch_size_count") == 2
    assert value(after, "supportbot_query_encode_seconds_sum") > 0
    assert value(after, "supportbot_handoff_queue_length") == 1
    assert value(after, "supportbot_handoff_queue_oldest_wait_seconds") >= 0
    versions = [labels for (name, labels) in after if name == "supportbot_index_info"]
    assert len(versions) == 1
    assert dict(versions[0])["model"] == "hash-64"


def test_metrics_token_is_required_once_set(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(tmp_path, index_dir=sample_index, metrics_token="s3cret-metrics")
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "unauthorized"
        assert samples(client, Authorization="Bearer s3cret-metrics")


def test_metrics_are_not_served_in_production_without_a_token(
    tmp_path: Path, sample_index: Path
) -> None:
    secrets = {name: "a-real-secret-value" for name in
               ("secret_key", "identity_secret", "webhook_secret")}
    settings = make_settings(tmp_path, index_dir=sample_index, environment="production", **secrets)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        assert client.get("/metrics").status_code == 404


def test_a_busy_office_behind_one_address_starts_many_conversations(
    app_client: TestClient,
) -> None:
    """Defaults: the old 30 a minute per address refused an office; 200 now all get in."""
    statuses = {app_client.post(API, json={}).status_code for _ in range(200)}
    assert statuses == {201}


def test_one_conversation_is_still_limited_with_the_defaults(app_client: TestClient) -> None:
    visitor = Visitor(app_client)
    statuses = []
    for n in range(65):  # default 30 a minute; two windows at most within the loop
        response = app_client.post(f"{API}/{visitor.id}/messages", headers=visitor.headers,
                                   json={"client_id": f"flood-{n:03d}", "text": "thanks"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429


def test_one_address_has_a_ceiling_on_messages(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(tmp_path, index_dir=sample_index, messages_per_minute_per_address=4)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        statuses = []
        for n in range(10):  # each message from a new conversation: only the address limits
            visitor = Visitor(client)
            response = client.post(f"{API}/{visitor.id}/messages", headers=visitor.headers,
                                   json={"client_id": f"spread-{n:03d}", "text": "thanks"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
    assert statuses[-1] == 429
    assert statuses[:4] == [200] * 4
