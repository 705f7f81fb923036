"""The outbox: signed webhooks (HMAC-SHA256 over timestamp and body), retried with exponential
backoff, so a receiver that is down or failing loses nothing. Receivers are an injected httpx
transport or a real local HTTP server; nothing is patched."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from bot.db import Database, create_schema
from bot.deliveries import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryWorker,
    backoff_seconds,
    sign,
    verify_signature,
)
from bot.models import Delivery
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, free_port, make_settings

SECRET = "whsec-test-0123456789"


@contextlib.contextmanager
def running_app(
    tmp_path: Path,
    sample_index: Path,
    database_url: str,
    webhook_transport: httpx.BaseTransport | None = None,
    **settings: Any,
) -> Iterator[tuple[TestClient, AppContext]]:
    """The app with webhook settings, delivering through `webhook_transport` if given."""
    context = AppContext.build(
        make_settings(
            tmp_path,
            index_dir=sample_index,
            database_url=database_url,
            webhook_secret=SECRET,
            delivery_poll_seconds=0.05,
            delivery_backoff_seconds=0.2,
            **settings,
        ),
        embedder=HashEmbedder(64),
        webhook_transport=webhook_transport,
    )
    with TestClient(create_app(context=context)) as client:
        yield client, context


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def verified(headers: Any, body: bytes) -> bool:
    return verify_signature(
        secret=SECRET,
        body=body,
        timestamp=headers[TIMESTAMP_HEADER],
        signature=headers[SIGNATURE_HEADER],
        now=time.time(),
    )


def delivered(context: AppContext) -> list[Delivery]:
    with context.db.session() as session:
        return list(session.query(Delivery).filter(Delivery.delivered_at.is_not(None)))


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff_seconds(n, base=5, cap=60) for n in range(1, 7)]
    assert delays == [5, 10, 20, 40, 60, 60]


def test_signature_covers_body_and_timestamp() -> None:
    body, now = b'{"event":"handoff.created"}', time.time()
    stamp = str(int(now))
    signature = sign(SECRET, body, stamp)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    check = dict(secret=SECRET, timestamp=stamp, signature=signature)
    assert verify_signature(body=body, now=now, **check)
    assert not verify_signature(body=body + b" ", now=now, **check)  # tampered
    assert not verify_signature(body=body, now=now + 3600, **check)  # replayed an hour later
    assert not verify_signature(
        secret="other", body=body, timestamp=stamp, signature=signature, now=now
    )


def test_webhook_is_signed_and_redelivered_after_a_500(
    tmp_path: Path, sample_index: Path, database_url: str
) -> None:
    calls: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        assert verified(request.headers, request.content)
        return httpx.Response(500 if len(calls) == 1 else 204)

    with running_app(
        tmp_path,
        sample_index,
        database_url,
        webhook_url="https://hooks.example/supportbot",
        webhook_transport=httpx.MockTransport(receiver),
    ) as (client, context):
        visitor = Visitor(client, visitor={"name": "Jana"})
        visitor.say("talk to a human")
        wait_for(lambda: len(delivered(context)) == 1)
        [item] = delivered(context)

    assert len(calls) == 2
    first, second = calls
    assert str(first.url) == "https://hooks.example/supportbot"
    assert first.headers[DELIVERY_HEADER] == second.headers[DELIVERY_HEADER]
    assert json.loads(first.content) == json.loads(second.content)
    payload = json.loads(second.content)
    assert payload["event"] == "handoff.created"
    assert payload["id"] == second.headers[DELIVERY_HEADER]
    packet = payload["data"]
    assert packet["conversation_id"] == visitor.id
    assert packet["reason"] == "visitor_request"
    assert packet["customer"]["name"] == "Jana"
    assert [m["role"] for m in packet["transcript"]][-1] == "bot"
    assert item.attempts == 2
    assert item.last_error is None


def test_a_receiver_that_is_down_loses_nothing(
    tmp_path: Path, sample_index: Path, database_url: str
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    with running_app(
        tmp_path, sample_index, database_url, webhook_url=f"http://127.0.0.1:{port}/hook"
    ) as (client, context):
        Visitor(client).say("talk to a human")

        def failed_once() -> bool:
            with context.db.session() as session:
                item = session.query(Delivery).one()
                return item.attempts >= 1 and item.last_error is not None

        wait_for(failed_once)  # nobody listening: connection refused, kept for later
        server = ThreadingHTTPServer(("127.0.0.1", port), Hook)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            wait_for(lambda: len(delivered(context)) == 1)
        finally:
            server.shutdown()
            server.server_close()

    [(headers, body)] = received
    assert verified(headers, body)
    assert json.loads(body)["event"] == "handoff.created"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    create_schema(db.engine)
    yield db
    db.dispose()


def test_worker_waits_out_the_backoff(tmp_path: Path, database: Database) -> None:
    settings = make_settings(
        tmp_path,
        database_url=database.url,
        webhook_url="https://hooks.example/x",
        webhook_secret=SECRET,
        delivery_backoff_seconds=5,
        delivery_backoff_max_seconds=60,
    )
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    now = [start]
    answers = [503, 503, 200]
    calls: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(answers[len(calls) - 1])

    with database.session() as session:
        session.add(
            Delivery(kind="webhook", payload={"event": "ping", "data": {}}, next_attempt_at=start)
        )
    with httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        worker = DeliveryWorker(db=database, settings=settings, client=http, clock=lambda: now[0])

        def at(seconds: float) -> int:
            now[0] = start + dt.timedelta(seconds=seconds)
            return worker.deliver_due()

        assert at(0) == 0 and len(calls) == 1  # 503; next try in 5 s
        assert at(4) == 0 and len(calls) == 1  # not yet
        assert at(5) == 0 and len(calls) == 2  # 503; next in 10 s
        assert at(14) == 0 and len(calls) == 2
        assert at(15) == 1 and len(calls) == 3  # delivered
        assert at(500) == 0 and len(calls) == 3  # and never again
    with database.session() as session:
        item = session.query(Delivery).one()
        assert item.attempts == 3
        assert item.delivered_at == start + dt.timedelta(seconds=15)


def test_email_without_a_mailer_stays_queued(tmp_path: Path, database: Database) -> None:
    settings = make_settings(tmp_path, database_url=database.url)
    with database.session() as session:
        session.add(
            Delivery(kind="email", payload={"to": "a@b.example", "subject": "s", "text": "t"})
        )
    with httpx.Client() as http:
        assert DeliveryWorker(db=database, settings=settings, client=http).deliver_due() == 0
    with database.session() as session:
        item = session.query(Delivery).one()
        assert item.delivered_at is None
        assert item.attempts == 1
        assert "no mailer" in (item.last_error or "")


@pytest.mark.usefixtures("client")
def test_no_webhook_configured_queues_nothing(visitor: Visitor, context: AppContext) -> None:
    visitor.say("talk to a human")
    with context.db.session() as session:
        assert session.query(Delivery).count() == 0
