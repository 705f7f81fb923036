"""A support agent driving the real console over HTTP, for live-server and browser tests.

It creates its agent through `bot.agents.create_agent` (once), logs in like a browser does
(login form, CSRF from the form, session cookie) and then posts the console's own forms.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx

from bot import agents
from bot.context import AppContext

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a console page carries (meta tag, else the first hidden field)."""
    match = _META.search(html) or _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class AgentDriver:
    """`claim_and_reply`, `resolve`, `typing` as an agent would do them in the console."""

    def __init__(
        self,
        base_url: str,
        context: AppContext,
        *,
        email: str = "anna@fjeldfels.example",
        name: str = "Anna",
        password: str = "correct horse battery staple",
    ):
        self.base_url = base_url.rstrip("/")
        self.context = context
        self.email, self.name, self.password = email, name, password
        self._lock = threading.Lock()
        self._ensure_agent()
        # No kept-alive connections: the session-scoped live server never closes its driver,
        # and an idle socket left open would fail the run with a ResourceWarning.
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=15.0,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.csrf = self.login()

    def _ensure_agent(self) -> None:
        with self.context.db.session() as session:
            if agents.get_agent_by_email(session=session, email=self.email) is None:
                agents.create_agent(
                    session=session, email=self.email, name=self.name, password=self.password
                )

    def login(self) -> str:
        """Log in through the form; returns the session's CSRF token."""
        page = self.http.get("/console/login")
        page.raise_for_status()
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
        assert console.status_code == 200, console.text
        return csrf_from(console.text)

    def post(self, path: str, **fields: Any) -> httpx.Response:
        with self._lock:
            return self.http.post(path, data={"csrf_token": self.csrf, **fields})

    def claim(self, conversation_id: str) -> None:
        response = self.post(f"/console/conversations/{conversation_id}/claim")
        assert response.status_code == 303, response.text

    def reply(self, conversation_id: str, text: str) -> None:
        response = self.post(f"/console/conversations/{conversation_id}/reply", text=text)
        assert response.status_code == 303, response.text

    def claim_and_reply(self, conversation_id: str, text: str) -> None:
        """Claim (a no-op if this agent has it already) and reply."""
        self.claim(conversation_id)
        self.reply(conversation_id, text)

    def resolve(self, conversation_id: str) -> None:
        response = self.post(f"/console/conversations/{conversation_id}/resolve")
        assert response.status_code == 303, response.text

    def typing(self, conversation_id: str, typing: bool) -> None:
        response = self.post(
            f"/console/conversations/{conversation_id}/typing", typing=str(typing).lower()
        )
        assert response.status_code == 204, response.text

    def close(self) -> None:
        self.http.close()
