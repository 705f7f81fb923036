"""Logging in to the console: login required everywhere, wrong passwords, logout, cookies,
CSRF on every form, and agent API tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot import agents
from bot.app import create_app
from bot.console.auth import SESSION_COOKIE
from bot.context import AppContext
from bot.models import AgentSession, utcnow
from ingest.embed import HashEmbedder
from tests.agent_driver import csrf_from
from tests.conftest import Visitor, make_settings
from tests.console_helpers import PASSWORD, ConsoleAgent, make_agent

CONSOLE_PAGES = ["/console", "/console/queue", "/console/stats", "/console/conversations/x"]
CONSOLE_POSTS = [
    "/console/logout",
    "/console/presence",
    "/console/conversations/x/claim",
    "/console/conversations/x/reply",
    "/console/conversations/x/note",
    "/console/conversations/x/typing",
    "/console/conversations/x/release",
    "/console/conversations/x/handback",
    "/console/conversations/x/resolve",
]
AGENT_API = ["/api/v1/agent/handoffs/x", "/api/v1/agent/stats", "/api/v1/agent/queue"]


def test_every_console_page_sends_a_stranger_to_the_login(client: TestClient) -> None:
    for path in CONSOLE_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login?next=")
    assert client.get("/console/events").status_code == 401


def test_every_console_form_and_agent_api_call_needs_a_login(client: TestClient) -> None:
    for path in CONSOLE_POSTS:
        response = client.post(path, data={"csrf_token": "x", "text": "hi", "typing": "true"})
        assert response.status_code == 401, path
        assert response.template.name == "error.html"
    for path in AGENT_API:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"


def test_login_lands_on_the_queue_and_sets_a_safe_cookie(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    form = client.get("/console/login?next=/console/stats")
    assert form.template.name == "login.html"
    response = client.post(
        "/console/login",
        data={
            "email": "Anna@Example.com",
            "password": PASSWORD,
            "csrf_token": csrf_from(form.text),
            "next": "/console/stats",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/stats"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here
    page = client.get("/console")
    assert page.status_code == 200
    assert page.template.name == "queue.html"
    assert page.context["login"].name == "Anna"
    with context.db.session() as session:
        stored = session.query(AgentSession).one()
        token = client.cookies[SESSION_COOKIE]
        assert stored.token_hash != token  # only the hash is kept
        agent = stored.agent
        assert agent.presence == "online"
        assert agent.last_seen_at is not None


def test_wrong_password_and_unknown_email_are_refused_alike(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    for email, password in [("anna@example.com", "wrong password!"), ("x@example.com", PASSWORD)]:
        form = client.get("/console/login")
        response = client.post(
            "/console/login",
            data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
            follow_redirects=False,
        )
        assert response.status_code == 401
        assert response.template.name == "login.html"
        assert "Wrong email or password." in response.text
        assert SESSION_COOKIE not in client.cookies
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_login_form_without_its_csrf_token_is_refused(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    response = client.post(
        "/console/login", data={"email": "anna@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_logout_ends_the_session(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    old_cookie = anna.http.cookies[SESSION_COOKIE]
    response = anna.post("/console/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert anna.http.get("/console").status_code == 303
    # The old cookie is worthless now, even if someone kept it.
    thief = TestClient(client.app, follow_redirects=False, cookies={SESSION_COOKIE: old_cookie})
    assert thief.get("/console").status_code == 303
    with context.db.session() as session:
        agent = agents.get_agent_by_email(session=session, email="anna@example.com")
        assert agent is not None
        assert agent.presence == "offline"


def test_form_post_without_csrf_token_is_refused_with_a_clear_page(
    client: TestClient, context: AppContext
) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client)
    visitor.say("talk to a human")
    for data in ({}, {"csrf_token": "forged"}):
        response = anna.http.post(f"/console/conversations/{visitor.id}/claim", data=data)
        assert response.status_code == 403
        assert response.template.name == "error.html"
        assert "CSRF" in response.text
    assert visitor.messages()["status"] == "waiting"
    assert anna.claim(visitor.id).status_code == 303  # with the token it works


def test_presence_can_be_set_away_and_back(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    assert anna.post("/console/presence", presence="away").status_code == 303
    with context.db.session() as session:
        agent = agents.get_agent_by_email(session=session, email="anna@example.com")
        assert agent is not None
        assert agent.presence == "away"
    # Away agents do not count: a handoff now promises an answer later (no mail channel here).
    reply = Visitor(client).say("talk to a human")["reply"]
    assert reply["handoff"]["mode"] == "later"
    anna.post("/console/presence", presence="online")
    reply = Visitor(client).say("talk to a human")["reply"]
    assert reply["handoff"]["mode"] == "live"


def test_agent_api_token_works_as_bearer(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    with context.db.session() as session:
        agent = agents.get_agent_by_email(session=session, email="anna@example.com")
        assert agent is not None
        token = agents.issue_api_token(session=session, agent=agent, now=utcnow(), days=1)
    api = TestClient(client.app)
    ok = api.get("/api/v1/agent/stats", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["target_seconds"] == context.settings.response_target_seconds
    bad = api.get("/api/v1/agent/stats", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_cookie_is_secure_behind_https(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(
        tmp_path, index_dir=sample_index, public_url="https://support.example"
    )
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context), base_url="https://testserver") as client:
        make_agent(context, "anna@example.com", "Anna")
        form = client.get("/console/login")
        response = client.post(
            "/console/login",
            data={
                "email": "anna@example.com",
                "password": PASSWORD,
                "csrf_token": csrf_from(form.text),
            },
            follow_redirects=False,
        )
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "Secure" in cookie


def test_weak_password_and_duplicate_email_are_refused(
    client: TestClient, context: AppContext
) -> None:
    with pytest.raises(agents.AgentError, match="at least"), context.db.session() as session:
        agents.create_agent(session=session, email="a@example.com", name="A", password="short")
    make_agent(context, "a@example.com", "A")
    with pytest.raises(agents.AgentError, match="exists"), context.db.session() as session:
        agents.create_agent(session=session, email="A@example.com", name="A", password=PASSWORD)
