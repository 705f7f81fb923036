"""Access (issue 15): the login throttle, which address a request comes from, stream tickets,
tokens kept out of the access log, security headers, Secure cookies."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from bot.access import StreamTickets
from bot.app import create_app
from bot.context import AppContext
from bot.deps import client_address
from bot.ratelimit import LoginThrottle, MemoryCounters, RedisCounters
from bot.redact import install_log_redaction
from ingest.embed import HashEmbedder
from tests.agent_driver import csrf_from
from tests.conftest import (
    HASH_MODEL,
    REDIS_URL,
    LiveServer,
    Visitor,
    free_port,
    make_settings,
    need,
    redis_available,
)
from tests.console_helpers import PASSWORD, make_agent
from tests.factories import supportbot_env

# -- the login throttle ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, counters: Any = None) -> LoginThrottle:
    return LoginThrottle(counters or MemoryCounters(clock), free=5, max_delay=60, clock=clock)


def test_the_delay_grows_after_the_free_failures_and_is_capped() -> None:
    clock = Clock()
    guard = throttle(clock)
    waits = []
    for _ in range(12):
        guard.failed("anna@example.com", "10.0.0.1")
        waits.append(guard.wait_seconds("anna@example.com", "10.0.0.1"))
        clock.now += waits[-1]  # the attacker waits exactly as long as asked

    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_one_account_is_throttled_from_every_address() -> None:
    clock = Clock()
    guard = throttle(clock)
    for n in range(6):
        guard.failed("anna@example.com", f"10.0.0.{n}")

    assert guard.wait_seconds("anna@example.com", "10.9.9.9") == 2
    assert guard.wait_seconds("ben@example.com", "10.9.9.9") == 0


def test_one_address_is_throttled_for_every_account() -> None:
    clock = Clock()
    guard = throttle(clock)
    for n in range(6):
        guard.failed(f"user{n}@example.com", "10.0.0.1")

    assert guard.wait_seconds("anna@example.com", "10.0.0.1") == 2
    assert guard.wait_seconds("anna@example.com", "10.0.0.2") == 0


def test_a_success_clears_the_account_but_not_the_address() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(5):
        guard.failed("anna@example.com", "10.0.0.1")
    clock.now += 10
    guard.succeeded("anna@example.com")

    assert guard.wait_seconds("anna@example.com", "10.0.0.2") == 0
    guard.failed("anna@example.com", "10.0.0.1")  # the address's sixth failure
    assert guard.wait_seconds("ben@example.com", "10.0.0.1") == 2


def test_workers_share_the_count_through_redis() -> None:
    need("Redis", redis_available(), f"set SUPPORTBOT_TEST_REDIS_URL; tried {REDIS_URL}")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"supportbot:test:{time.time_ns()}:"
    worker_a = LoginThrottle(RedisCounters(client, prefix), free=3)
    worker_b = LoginThrottle(RedisCounters(client, prefix), free=3)
    for n in range(4):
        (worker_a if n % 2 else worker_b).failed("anna@example.com", "10.0.0.1")

    assert 1 < worker_a.wait_seconds("anna@example.com", "10.0.0.7") <= 2
    client.close()


def login(http: httpx.Client | TestClient, email: str, password: str, **headers: str) -> Any:
    form = http.get("/console/login")
    return http.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
        headers=headers,
        follow_redirects=False,
    )


def test_the_console_refuses_even_the_right_password_while_throttled(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    statuses = [login(client, "anna@example.com", "wrong password!").status_code for _ in range(5)]
    throttled = login(client, "anna@example.com", PASSWORD)

    assert statuses == [401] * 5
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert "Too many failed attempts" in throttled.text


# -- which address a request comes from --------------------------------------------------------


def request_from(peer: str, forwarded: str | None, trusted: tuple[str, ...]) -> Request:
    settings = SimpleNamespace(trusted_proxies=trusted)
    app = SimpleNamespace(state=SimpleNamespace(context=SimpleNamespace(settings=settings)))
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers, "app": app})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),  # nobody trusted: the header is noise
        ("203.0.113.9", "1.2.3.4", ("10.0.0.0/8",), "203.0.113.9"),  # not from our proxy
        ("10.0.0.5", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
        ("10.0.0.5", "6.6.6.6, 1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),  # client's own is left
        ("10.0.0.5", "1.2.3.4, 10.0.0.7", ("10.0.0.0/8",), "1.2.3.4"),  # two proxies deep
        ("10.0.0.5", None, ("10.0.0.0/8",), "10.0.0.5"),
        ("::1", "2001:db8::1", ("::1",), "2001:db8::1"),
    ],
)
def test_forwarded_for_is_read_only_from_trusted_proxies(
    peer: str, forwarded: str | None, trusted: tuple[str, ...], expected: str
) -> None:
    assert client_address(request_from(peer, forwarded, trusted)) == expected


SUPPORTBOT = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`supportbot serve` itself (its uvicorn options matter), on a fresh database."""
    servers: list[subprocess.Popen[bytes]] = []

    def start(**settings: Any) -> str:
        tmp = tmp_path_factory.mktemp("serve")
        port = free_port()
        env = supportbot_env(
            database_url=f"sqlite:///{tmp / 'db.sqlite3'}",
            index_dir=tmp / "index",
            embedding_model=HASH_MODEL,
            **settings,
        )
        process = subprocess.Popen(
            [sys.executable, "-c", SUPPORTBOT, "serve", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # loading the language detector takes a while
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code in (200, 503):
                    return url
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("supportbot serve did not start")

    yield start
    for process in servers:
        process.kill()
        process.wait()


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_a_forged_forwarded_for_does_not_escape_the_address_throttle(
    served: Any, trusted: str
) -> None:
    url = served(trusted_proxies=trusted, login_free_failures=3)
    with httpx.Client(base_url=url, timeout=10) as http:
        statuses = [
            login(http, f"user{n}@example.com", "wrong", **{"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(4)
        ]
    codes = [r.status_code for r in statuses]
    if trusted:  # our proxy vouches for four different clients
        assert codes == [401, 401, 401, 401]
    else:  # one client at 127.0.0.1, whatever it claims
        assert codes == [401, 401, 401, 429]


# -- stream tickets and the access log ---------------------------------------------------------


def test_a_ticket_expires_and_is_bound_to_its_conversation() -> None:
    clock = Clock()
    tickets = StreamTickets("s3cret", MemoryCounters(clock), clock)
    first, second, third = (tickets.issue("conv-a") for _ in range(3))

    assert not tickets.redeem(first, "conv-b")
    assert not StreamTickets("other", MemoryCounters(clock), clock).redeem(first, "conv-a")
    assert tickets.redeem(first, "conv-a")
    assert not tickets.redeem(first, "conv-a")  # spent
    clock.now += StreamTickets.SECONDS + 1
    assert not tickets.redeem(second, "conv-a")  # expired
    assert not tickets.redeem(third.replace(".", ".9", 1), "conv-a")  # tampered expiry


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        from uvicorn.logging import AccessFormatter

        self.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_access_log_never_holds_a_token_or_ticket(
    tmp_path: Path, sample_index: Path
) -> None:
    settings = make_settings(tmp_path, index_dir=sample_index)
    server = LiveServer(AppContext.build(settings, embedder=HashEmbedder(64)))
    server.server.config.access_log = True
    access = logging.getLogger("uvicorn.access")
    handler, level = Lines(), access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            visitor = Visitor(http)  # type: ignore[arg-type]
            ticket = http.post(
                f"/api/v1/conversations/{visitor.id}/stream-ticket", headers=visitor.headers
            ).json()["ticket"]
            with http.stream(
                "GET", f"/api/v1/conversations/{visitor.id}/events", params={"ticket": ticket}
            ) as stream:
                assert stream.status_code == 200
            http.get(f"/api/v1/conversations/{visitor.id}/events?access_token={visitor.token}")
        deadline = time.monotonic() + 5
        while len(handler.lines) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
        access.removeHandler(handler)
        access.setLevel(level)

    log = "\n".join(handler.lines)
    assert "/events?ticket=[redacted]" in log
    assert ticket not in log
    assert ticket.split(".")[0] not in log
    assert visitor.token not in log


def test_log_records_are_redacted_whatever_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("bot.anything").info(
            "customer %s wrote from %s, card %s", "anna@example.com", "+49 30 1234567",
            4111111111111111,
        )
    assert caplog.records[-1].getMessage() == "customer [email] wrote from [phone], card [card]"


# -- headers and cookies -----------------------------------------------------------------------


def headers_of(client: TestClient, path: str) -> httpx.Headers:
    response = client.get(path, follow_redirects=False)
    assert response.status_code < 500, path
    return response.headers


def test_every_response_carries_the_security_headers(
    tmp_path: Path, sample_index: Path
) -> None:
    settings = make_settings(
        tmp_path, index_dir=sample_index, allowed_origins=("https://shop.example",)
    )
    app = create_app(context=AppContext.build(settings, embedder=HashEmbedder(64)))
    with TestClient(app) as client:
        paths = ["/healthz", "/docs", "/openapi.json", "/demo", "/widget/panel.html",
                 "/widget/loader.js", "/console", "/console/login", "/api/v1/conversations/x",
                 "/console/static/console.css", "/nowhere"]
        every = {path: headers_of(client, path) for path in paths}
    for path, headers in every.items():
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
    for path in ("/healthz", "/docs", "/openapi.json", "/console", "/console/login", "/nowhere"):
        assert every[path]["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in every[path]["content-security-policy"], path
    assert every["/demo"]["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in every["/demo"]["content-security-policy"]
    panel = every["/widget/panel.html"]
    assert "x-frame-options" not in panel
    assert panel["content-security-policy"].endswith(
        "; frame-ancestors 'self' https://shop.example"
    )
    assert "script-src 'self';" in panel["content-security-policy"]
    assert "cdn.jsdelivr.net" in every["/docs"]["content-security-policy"]


def test_hsts_only_over_https(tmp_path: Path, sample_index: Path) -> None:
    for base, expected in (("http://127.0.0.1:8000", False), ("https://chat.example", True)):
        settings = make_settings(tmp_path, index_dir=sample_index, public_url=base)
        app = create_app(context=AppContext.build(settings, embedder=HashEmbedder(64)))
        with TestClient(app) as client:
            assert ("strict-transport-security" in client.get("/healthz").headers) is expected


@pytest.mark.parametrize(
    ("environment", "public_url", "secure"),
    [
        ("test", "http://127.0.0.1:8000", False),
        ("test", "https://chat.example", True),
        ("production", "http://chat.internal", True),  # TLS ends at the proxy in front
    ],
)
def test_cookies_are_secure_over_https_and_in_production(
    tmp_path: Path, sample_index: Path, environment: str, public_url: str, secure: bool
) -> None:
    settings = make_settings(
        tmp_path,
        index_dir=sample_index,
        environment=environment,
        public_url=public_url,
        secret_key="k" * 32,
        identity_secret="i" * 32,
        webhook_secret="w" * 32,
    )
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context), base_url="https://testserver") as client:
        make_agent(context, "anna@example.com", "Anna")
        form_cookie = client.get("/console/login").headers["set-cookie"]
        session_cookie = login(client, "anna@example.com", PASSWORD).headers["set-cookie"]

    assert ("Secure" in form_cookie) is secure
    assert ("Secure" in session_cookie) is secure
