"""An in-memory stand-in for the visitor API (/tmp/sb/api.md) plus the static widget files.

The browser tests run against the real app through the `live_server` fixture of
tests/conftest.py. Where that fixture does not exist (the backend is not there yet) or
SUPPORTBOT_WIDGET_FAKE_API=1 is set, they use this instead: it answers from the front matter of
kb_docs/ by word overlap, which is enough to exercise every widget path (answer with source,
clarify with quick replies, handoff, agent, SSE, rating) without the model or the index.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

ROOT = Path(__file__).resolve().parents[2]
WORD = re.compile(r"\w{3,}", re.UNICODE)
STOP = {"how", "the", "and", "can", "what", "for", "you", "with", "wie", "ich", "kann", "hvordan"}
GREETINGS = {
    "en": "Hi! I am the Fjeld & Fels assistant. Ask me anything about orders, delivery or returns.",
    "de": "Hallo! Ich bin der Assistent von Fjeld & Fels. Fragen Sie mich zu Bestellung, "
    "Versand oder Rücksendung.",
    "da": "Hej! Jeg er Fjeld & Fels' assistent. Spørg mig om ordrer, levering eller returnering.",
}


def _articles() -> list[dict[str, Any]]:
    out = []
    for path in sorted((ROOT / "kb_docs").glob("*/*.md")):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        meta = yaml.safe_load(front)
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        first = next(p for p in paragraphs if not p.startswith("#"))
        words = set(WORD.findall(" ".join([meta["title"], *meta.get("questions", [])]).lower()))
        out.append(
            {
                "id": f"{path.parent.name}/{path.stem}",
                "lang": path.parent.name,
                "title": meta["title"],
                "url": meta.get("url"),
                "text": first,
                "words": words - STOP,
            }
        )
    return out


ARTICLES = _articles()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _stamp() -> str:
    """Now as the real API's `updated_at`: fixed-width UTC text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Conversation:
    id: str
    token: str
    lang: str
    status: str = "bot"
    agent: dict[str, str] | None = None
    handoff: dict[str, Any] | None = None
    rating: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    updated_at: str = field(default_factory=lambda: _stamp())
    by_client_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    visitor_typing: bool = False

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))
        old, self.changed = self.changed, asyncio.Event()
        old.set()

    def status_data(self) -> dict[str, Any]:
        return {"status": self.status, "agent": self.agent, "handoff": self.handoff,
                "updated_at": self.updated_at}

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = _stamp()
        self.publish("status", self.status_data())


class FakeApi:
    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.tickets: dict[str, set[str]] = {}  # stream tickets not used yet, per conversation
        self.seq = itertools.count(1)

    def message(self, conv: Conversation, role: str, kind: str, text: str, **extra: Any) -> dict:
        message = {
            "id": f"m{next(self.seq)}",
            "role": role,
            "kind": kind,
            "text": text,
            "created_at": _now(),
            "lang": conv.lang,
            "confidence": None,
            "sources": [],
            "quick_replies": [],
            "agent_name": None,
            "handoff": None,
            **extra,
        }
        message["seq"] = int(message["id"][1:])
        conv.messages.append(message)
        conv.publish("message", message)
        return message

    def handoff(self, conv: Conversation) -> dict[str, Any]:
        conv.handoff = {"mode": "live", "wait_minutes": 3, "email": None, "answer_by": None}
        reply = self.message(
            conv,
            "bot",
            "handoff",
            "I am passing you to a colleague. Someone will reply here in about 3 minutes.",
            handoff=conv.handoff,
        )
        conv.set_status("waiting")
        return reply

    def answer(self, conv: Conversation, text: str, article_id: str | None) -> dict[str, Any]:
        if conv.status in ("waiting", "agent"):
            return {}
        if conv.status == "closed":
            conv.set_status("bot")
        words = set(WORD.findall(text.lower())) - STOP
        pool = [a for a in ARTICLES if a["lang"] == conv.lang] or ARTICLES
        scored = sorted(((len(words & a["words"]), a) for a in pool), key=lambda x: -x[0])
        chosen = next((a for a in pool if a["id"] == article_id), None)
        best_score, best = scored[0]
        if chosen or (best_score >= 2 and best_score > scored[1][0]):
            article = chosen or best
            source = {"article_id": article["id"], "title": article["title"], "url": article["url"]}
            return self.message(
                conv,
                "bot",
                "answer",
                article["text"],
                confidence=0.8,
                sources=[{**source, "score": 0.8}],
            )
        if best_score >= 1:
            options = [a for score, a in scored[:3] if score]
            return self.message(
                conv,
                "bot",
                "clarify",
                "Which of these do you mean?",
                confidence=0.4,
                quick_replies=[{"article_id": a["id"], "title": a["title"]} for a in options],
            )
        return self.handoff(conv)


def create_app() -> FastAPI:
    app = FastAPI()
    fake = FakeApi()
    app.state.fake = fake

    def conversation(request: Request, cid: str) -> Conversation | JSONResponse:
        conv = fake.conversations.get(cid)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if conv is None:
            return _error(404, "not_found", "No such conversation")
        ticket = request.query_params.get("ticket")
        if ticket is not None and request.url.path.endswith("/events"):
            issued = fake.tickets.setdefault(cid, set())
            if ticket not in issued:
                return _error(401, "unauthorized", "Bad stream ticket")
            issued.discard(ticket)  # single use, like the real one
            return conv
        if not secrets.compare_digest(token, conv.token):
            return _error(401, "unauthorized", "Bad token")
        return conv

    @app.post("/api/v1/conversations", status_code=201)
    async def create(request: Request) -> Any:
        body = await request.json()
        lang = body.get("locale") if body.get("locale") in GREETINGS else "en"
        conv = Conversation(id=secrets.token_hex(8), token=secrets.token_urlsafe(24), lang=lang)
        fake.conversations[conv.id] = conv
        fake.message(conv, "bot", "greeting", GREETINGS[lang])
        return {
            "id": conv.id,
            "token": conv.token,
            "status": conv.status,
            "lang": lang,
            "messages": conv.messages,
            "updated_at": conv.updated_at,
        }

    @app.post("/api/v1/conversations/{cid}/messages")
    async def post_message(cid: str, request: Request) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        body = await request.json()
        client_id, text = str(body.get("client_id", "")), str(body.get("text", "")).strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", client_id) or not text:
            return _error(422, "invalid", "client_id and text are required")
        if len(text) > 2000:
            return _error(413, "too_long", "Message too long")
        if client_id in conv.by_client_id:
            return conv.by_client_id[client_id]
        message = fake.message(conv, "visitor", "text", text)
        reply = fake.answer(conv, text, body.get("article_id")) or None
        result = {"message": message, "reply": reply}
        conv.by_client_id[client_id] = result
        return result

    @app.get("/api/v1/conversations/{cid}/messages")
    async def list_messages(cid: str, request: Request, after: int = 0) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        return {
            "messages": [m for m in conv.messages if m["seq"] > after],
            "status": conv.status,
            "agent": conv.agent,
        }

    @app.get("/api/v1/conversations/{cid}")
    async def get_conversation(cid: str, request: Request) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        return {"id": conv.id, "lang": conv.lang, "rating": conv.rating, **conv.status_data()}

    @app.post("/api/v1/conversations/{cid}/stream-ticket")
    async def stream_ticket(cid: str, request: Request) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        ticket = secrets.token_urlsafe(16)
        fake.tickets.setdefault(cid, set()).add(ticket)
        return {"ticket": ticket, "expires_in": 60}

    @app.get("/api/v1/conversations/{cid}/events")
    async def events(cid: str, request: Request) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        after = int(raw) if raw and raw.isdigit() else 0

        async def stream() -> Any:
            sent = after
            position = len(conv.events)
            for message in conv.messages:
                if message["seq"] > sent:
                    sent = message["seq"]
                    yield f"event: message\nid: {sent}\ndata: {json.dumps(message)}\n\n"
            while not await request.is_disconnected():
                changed = conv.changed
                while position < len(conv.events):
                    kind, data = conv.events[position]
                    position += 1
                    if kind == "message":
                        if data["seq"] <= sent:
                            continue
                        sent = data["seq"]
                        yield f"event: message\nid: {sent}\ndata: {json.dumps(data)}\n\n"
                    else:
                        yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
                try:
                    await asyncio.wait_for(changed.wait(), 5)
                except TimeoutError:
                    yield ": ping\n\n"

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @app.post("/api/v1/conversations/{cid}/handoff")
    async def handoff(cid: str, request: Request) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        return {"message": None, "reply": fake.handoff(conv)}

    @app.post("/api/v1/conversations/{cid}/{what}")
    async def small_posts(cid: str, what: str, request: Request) -> Any:
        conv = conversation(request, cid)
        if isinstance(conv, JSONResponse):
            return conv
        body = await request.json()
        if what == "feedback":
            conv.feedback.append(body)
        elif what == "rating":
            if conv.status != "closed":
                return _error(409, "not_closed", "The chat is not closed")
            conv.rating = int(body["rating"])
        elif what == "typing":
            conv.visitor_typing = bool(body.get("typing"))
        else:
            return _error(404, "not_found", "No such call")
        return Response(status_code=204)

    # What the real server's console does, reduced to what the tests need.
    @app.post("/_fake/{cid}/{action}")
    async def agent(cid: str, action: str, request: Request) -> Any:
        conv = fake.conversations[cid]
        body = await request.json()
        if action == "reply":
            if conv.status != "agent":
                conv.agent = {"name": "Anna"}
                fake.message(conv, "system", "status", "Anna joined the chat")
                conv.set_status("agent")
            fake.message(conv, "agent", "text", body["text"], agent_name="Anna")
        elif action == "typing":
            conv.publish("typing", {"role": "agent", "typing": bool(body["typing"])})
        elif action == "resolve":
            fake.message(conv, "system", "status", "Chat resolved")
            conv.set_status("closed")
        elif action == "feedback":
            return {"feedback": conv.feedback, "rating": conv.rating}
        return Response(status_code=204)

    widget = ROOT / "widget"
    app.mount("/widget", StaticFiles(directory=widget), name="widget")

    @app.get("/demo")
    async def demo() -> FileResponse:
        return FileResponse(widget / "demo.html")

    return app


class FakeServer:
    """Same interface as the `live_server` fixture: .url and the agent_* helpers."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> FakeServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

    def _post(self, cid: str, action: str, body: dict[str, Any]) -> httpx.Response:
        response = httpx.post(f"{self.url}/_fake/{cid}/{action}", json=body)
        response.raise_for_status()
        return response

    def agent_reply(self, conversation_id: str, text: str) -> None:
        self._post(conversation_id, "reply", {"text": text})

    def agent_resolve(self, conversation_id: str) -> None:
        self._post(conversation_id, "resolve", {})

    def agent_typing(self, conversation_id: str, typing: bool) -> None:
        self._post(conversation_id, "typing", {"typing": typing})
