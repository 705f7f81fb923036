"""Who is calling the console and the agent API: dependencies for the login (session cookie
or an agent API token) and the CSRF check on every form post, plus the cookie settings.

The session cookie is HttpOnly and SameSite=Lax (and Secure when the console is served over
https or in production); on top of that every POST carries the session's CSRF token in a
hidden field, so a form on another site cannot act as the agent.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Form, Header, Request, Response

from bot import agents
from bot.agents import Login
from bot.config import Settings
from bot.context import AppContext
from bot.deps import Context
from bot.errors import Forbidden, Unauthorized

SESSION_COOKIE = "supportbot_console"
LOGIN_CSRF_COOKIE = "supportbot_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_REFUSED = (
    "This form was refused: its security token (CSRF) is missing or out of date. "
    "Go back, reload the page and try again."
)


class LoginRequired(Unauthorized):
    """No valid login: console pages redirect to the login form, the API answers 401."""


def secure_cookies(settings: Settings) -> bool:
    """Cookies only over https when the console is served over https, and always in
    production (where TLS usually ends at a proxy in front of an http public URL)."""
    return settings.environment == "production" or settings.public_base_url.lower().startswith(
        "https://"
    )


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(settings)
    )


def session_token(request: Request, authorization: str | None) -> tuple[str | None, str]:
    """The caller's token and how it came: the console cookie, else `Authorization: Bearer`."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie, "cookie"
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None, "token"
    return None, "none"


def optional_login(
    request: Request,
    context: Context,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Login | None:
    """The signed-in agent, or None. A console request also counts as "seen" (presence)."""
    token, via = session_token(request, authorization)
    if not token:
        return None
    return lookup(context, token, via)


def lookup(context: AppContext, token: str, via: str) -> Login | None:
    with context.db.session() as session:
        return agents.resolve_session(
            session=session,
            token=token,
            now=context.chat.clock(),
            via=via,
            touch=via == "cookie",
        )


def require_login(login: Annotated[Login | None, Depends(optional_login)]) -> Login:
    if login is None:
        raise LoginRequired("Please log in to the console first.")
    return login


AgentLogin = Annotated[Login, Depends(require_login)]


def require_csrf(
    login: AgentLogin, csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None
) -> Login:
    """Every state-changing console request: the form's token must be the session's."""
    if login.via == "token":  # a bearer token is never sent by a browser on its own
        return login
    if not csrf_token or not hmac.compare_digest(csrf_token, login.csrf_token):
        raise Forbidden(CSRF_REFUSED, code="csrf_failed")
    return login


CheckedLogin = Annotated[Login, Depends(require_csrf)]
