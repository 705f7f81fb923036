"""Console test helpers: agents made through the store, and an agent's own browser (a
TestClient with its own cookie jar) that logs in and posts the console's forms."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi.testclient import TestClient

from bot import agents
from bot.context import AppContext
from tests.agent_driver import csrf_from

PASSWORD = "correct horse battery staple"


def make_agent(
    context: AppContext, email: str, name: str, *, role: str = "agent", password: str = PASSWORD
) -> None:
    with context.db.session() as session:
        agents.create_agent(session=session, email=email, name=name, password=password, role=role)


def user_hash(context: AppContext, external_id: str) -> str:
    """What the shop's backend computes to prove a logged-in customer."""
    secret = context.settings.identity_secret.encode()
    return hmac.new(secret, external_id.encode(), hashlib.sha256).hexdigest()


class ConsoleAgent:
    """One agent in their own browser."""

    def __init__(self, client: TestClient, email: str, password: str = PASSWORD):
        self.http = TestClient(client.app, follow_redirects=False)
        self.email, self.password = email, password
        self.csrf = ""

    def login(self) -> ConsoleAgent:
        page = self.http.get("/console/login")
        assert page.status_code == 200
        response = self.http.post(
            "/console/login",
            data={
                "email": self.email,
                "password": self.password,
                "csrf_token": csrf_from(page.text),
            },
        )
        assert response.status_code == 303, response.text
        console = self.http.get("/console")
        assert console.status_code == 200
        self.csrf = csrf_from(console.text)
        return self

    def post(self, path: str, **fields: Any) -> Any:
        return self.http.post(path, data={"csrf_token": self.csrf, **fields})

    def claim(self, conversation_id: str) -> Any:
        return self.post(f"/console/conversations/{conversation_id}/claim")

    def reply(self, conversation_id: str, text: str) -> Any:
        return self.post(f"/console/conversations/{conversation_id}/reply", text=text)

    def note(self, conversation_id: str, text: str) -> Any:
        return self.post(f"/console/conversations/{conversation_id}/note", text=text)

    def resolve(self, conversation_id: str) -> Any:
        return self.post(f"/console/conversations/{conversation_id}/resolve")

    def release(self, conversation_id: str) -> Any:
        return self.post(f"/console/conversations/{conversation_id}/release")

    def hand_back(self, conversation_id: str) -> Any:
        return self.post(f"/console/conversations/{conversation_id}/handback")

    def typing(self, conversation_id: str, typing: bool) -> Any:
        return self.post(
            f"/console/conversations/{conversation_id}/typing", typing=str(typing).lower()
        )

    def page(self, conversation_id: str) -> Any:
        return self.http.get(f"/console/conversations/{conversation_id}")

    def handoff_id(self, conversation_id: str) -> str:
        view = self.page(conversation_id).context["c"]
        assert view["handoff"] is not None
        return str(view["handoff"]["id"])
