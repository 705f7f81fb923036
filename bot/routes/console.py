"""The agent console under `/console`: server-rendered pages (Jinja2, autoescaped), plain form
posts with a CSRF token, and one SSE stream that keeps the open page up to date.

Thin on purpose: the actions live in `bot.desk`, the reads in `bot.console.queries`, logins in
`bot.agents` and `bot.console.auth`.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse

from bot import agents
from bot.agents import Login
from bot.console import queries
from bot.console.auth import (
    CSRF_REFUSED,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AgentLogin,
    CheckedLogin,
    clear_session_cookie,
    secure_cookies,
    set_session_cookie,
)
from bot.console.render import render
from bot.context import AppContext
from bot.deps import Context, client_address, limit
from bot.errors import NotFound
from bot.events import CONSOLE_CHANNEL

STATIC = Path(__file__).resolve().parent.parent / "static"
PING_SECONDS = 15.0

router = APIRouter(prefix="/console", include_in_schema=False)


def error_page(request: Request, status: int, message: str) -> Response:
    """How every error under /console looks (the app's one error renderer calls this)."""
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def _back(conversation_id: str) -> RedirectResponse:
    return RedirectResponse(f"/console/conversations/{conversation_id}", status_code=303)


# -- login ---------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, context: Context, next: str = "/console") -> Response:
    """The login form; a pre-session cookie carries its CSRF token (double submit)."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"login_csrf": token, "next": _safe_next(next)})
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(context.settings),
    )
    return response


@router.post("/login")
def login(
    request: Request,
    context: Context,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form()] = "/console",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not csrf_token or not secrets.compare_digest(cookie, csrf_token):
        return error_page(request, 403, CSRF_REFUSED)
    address = client_address(request)
    limit(context, f"login:{address}")

    def refuse(error: str, status: int) -> Response:
        values = {"login_csrf": cookie, "next": _safe_next(next), "error": error, "email": email}
        return render(request, "login.html", values, status=status)

    wait = context.logins.wait_seconds(email, address)
    if wait > 0:  # not even checked: a guessing run learns nothing while it waits
        seconds = math.ceil(wait)
        response = refuse(f"Too many failed attempts. Try again in {seconds} s.", 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    with context.db.session() as session:
        agent = agents.authenticate(session=session, email=email, password=password)
        token = None
        if agent is not None:
            token = agents.start_session(
                session=session,
                agent=agent,
                now=context.clock(),
                max_age_seconds=context.settings.session_max_age_seconds,
            )
    if token is None:
        context.logins.failed(email, address)
        return refuse("Wrong email or password.", 401)
    context.logins.succeeded(email)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, context.settings, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


def _safe_next(target: str) -> str:
    """Only a console path: never an open redirect to another site."""
    if target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


@router.post("/logout")
def logout(request: Request, context: Context, login: CheckedLogin) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with context.db.session() as session:
            agents.end_session(session=session, token=token)
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response, context.settings)
    return response


@router.post("/presence")
def presence(
    context: Context,
    login: CheckedLogin,
    presence: Annotated[Literal["online", "away"], Form()],
    next: Annotated[str, Form()] = "/console",
) -> Response:
    """Online (chats are handed off live) or away (the bot promises an email answer)."""
    with context.db.session() as session:
        agents.set_presence(
            session=session, agent_id=login.agent_id, presence=presence, now=context.clock()
        )
    return RedirectResponse(_safe_next(next), status_code=303)


# -- pages ---------------------------------------------------------------------------------


def _queue_values(context: AppContext, login: Login) -> dict[str, Any]:
    now = context.clock()
    target = context.settings.response_target_seconds
    with context.db.session() as session:
        return {
            "entries": queries.queue(
                session=session, now=now, agent_id=login.agent_id, target_seconds=target
            ),
            "stats": queries.response_stats(session=session, target_seconds=target, limit=200),
        }


@router.get("")
def queue_page(request: Request, context: Context, login: AgentLogin) -> Response:
    """The queue: handed-off chats, longest waiting first, late ones in red."""
    return render(request, "queue.html", _queue_values(context, login), login=login)


@router.get("/queue")
def queue_partial(request: Request, context: Context, login: AgentLogin) -> Response:
    """The queue table alone, for the page's live refresh."""
    return render(request, "_queue.html", _queue_values(context, login), login=login)


@router.get("/stats")
def stats_page(request: Request, context: Context, login: AgentLogin) -> Response:
    """Handoff → first reply per conversation and as a median, against the target."""
    with context.db.session() as session:
        stats = queries.response_stats(
            session=session, target_seconds=context.settings.response_target_seconds
        )
    return render(request, "stats.html", {"stats": stats}, login=login)


def _view(context: AppContext, conversation_id: str) -> dict[str, Any]:
    with context.db.session() as session:
        view = queries.conversation_view(
            session=session,
            conversation_id=conversation_id,
            base_url=context.settings.public_base_url,
            now=context.clock(),
        )
    if view is None:
        raise NotFound("There is no conversation with this id.")
    return view


@router.get("/conversations/{conversation_id}")
def conversation_page(
    request: Request, conversation_id: str, context: Context, login: AgentLogin
) -> Response:
    """The packet (why, what the bot tried, who the customer is) next to the transcript."""
    view = _view(context, conversation_id)
    return render(
        request,
        "conversation.html",
        {"c": view, "mine": _mine(view, login), "smtp": bool(context.settings.smtp_host)},
        login=login,
    )


@router.get("/conversations/{conversation_id}/transcript")
def transcript_partial(
    request: Request, conversation_id: str, context: Context, login: AgentLogin
) -> Response:
    view = _view(context, conversation_id)
    return render(request, "_transcript.html", {"c": view}, login=login)


def _mine(view: dict[str, Any], login: Login) -> bool:
    handoff = view["handoff"]
    return bool(view["open"] and handoff and handoff["claimed_by_id"] == login.agent_id)


# -- actions -------------------------------------------------------------------------------


@router.post("/conversations/{conversation_id}/claim")
def claim(conversation_id: str, context: Context, login: CheckedLogin) -> Response:
    context.desk.claim(login, conversation_id)
    return _back(conversation_id)


@router.post("/conversations/{conversation_id}/reply")
def reply(
    conversation_id: str,
    context: Context,
    login: CheckedLogin,
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    context.desk.reply(login, conversation_id, text)
    return _back(conversation_id)


@router.post("/conversations/{conversation_id}/note")
def note(
    conversation_id: str,
    context: Context,
    login: CheckedLogin,
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    context.desk.note(login, conversation_id, text)
    return _back(conversation_id)


@router.post("/conversations/{conversation_id}/typing", status_code=204)
def typing(
    conversation_id: str,
    context: Context,
    login: CheckedLogin,
    typing: Annotated[bool, Form()],
) -> Response:
    context.desk.typing(login, conversation_id, typing)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/release")
def release(conversation_id: str, context: Context, login: CheckedLogin) -> Response:
    context.desk.release(login, conversation_id)
    return RedirectResponse("/console", status_code=303)


@router.post("/conversations/{conversation_id}/handback")
def hand_back(conversation_id: str, context: Context, login: CheckedLogin) -> Response:
    context.desk.hand_back(login, conversation_id)
    return RedirectResponse("/console", status_code=303)


@router.post("/conversations/{conversation_id}/resolve")
def resolve(conversation_id: str, context: Context, login: CheckedLogin) -> Response:
    context.desk.resolve(login, conversation_id)
    return RedirectResponse("/console", status_code=303)


# -- live updates --------------------------------------------------------------------------


@router.get("/events")
async def events(request: Request, context: Context, login: AgentLogin) -> StreamingResponse:
    """SSE for the open console page: `conversation` (new message), `queue` (status change)
    and `typing` (a visitor types). While it is open the agent keeps counting as seen."""
    return StreamingResponse(
        _stream(request, context, login),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(request: Request, context: AppContext, login: Login) -> AsyncIterator[str]:
    def seen() -> None:
        with context.db.session() as session:
            agents.touch(session=session, agent_id=login.agent_id, now=context.clock())

    async with context.bus.subscribe(CONSOLE_CHANNEL) as subscription:
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            event = await subscription.next(PING_SECONDS)
            if event is None:
                await run_in_threadpool(seen)
                yield ": ping\n\n"
                continue
            data = json.dumps(event.get("data"), ensure_ascii=False)
            yield f"event: {event['event']}\ndata: {data}\n\n"
            await asyncio.sleep(0)


# -- wiring --------------------------------------------------------------------------------


async def login_required(request: Request, exc: Exception) -> Response:
    """Console pages send the browser to the login form; POSTs and the API get a 401."""
    path = request.url.path
    if path.startswith("/console"):
        if request.method == "GET" and not path.startswith("/console/events"):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
        return error_page(request, 401, str(exc))
    return JSONResponse({"error": {"code": "unauthorized", "message": str(exc)}}, status_code=401)
