"""Rendering of console pages: one Jinja2 environment (autoescape on, strict undefined), the
values every page gets, and the security headers every page carries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.agents import Login
from bot.console.auth import CSRF_FIELD
from bot.console.markdown import bot_markdown
from bot.context import AppContext

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _duration(seconds: float | None) -> str:
    """45 s, 3 min 20 s, 2 h 5 min."""
    if seconds is None:
        return "–"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def agent_time(moment: dt.datetime | str, zone: ZoneInfo) -> str:
    """A time as an agent reads it: in their zone, and saying which ("30 Nov 14:05:09 CET")."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(zone).strftime("%d %b %H:%M:%S %Z")


def _environment() -> jinja2.Environment:
    # Autoescape everything: visitor and article text reach these templates.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["duration"] = _duration
    env.filters["bot_markdown"] = bot_markdown
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    login: Login | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A console page, with the values every page uses and a strict CSP."""
    ctx: AppContext = request.app.state.context
    settings = ctx.settings
    zone = settings.agent_timezone
    values: dict[str, Any] = {
        "login": login,
        "csrf_field": CSRF_FIELD,
        "target": settings.response_target_seconds,
        "now": ctx.chat.clock(),
        "local": lambda moment: agent_time(moment, zone),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
