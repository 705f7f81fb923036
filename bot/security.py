"""Security headers on every response, chosen per page: who may frame it and what it may load.

| page | framed by | loads |
|---|---|---|
| chat panel `/widget/panel.html` | itself, `allowed_origins` (all if empty) | own files, API |
| demo page `/demo` | itself | own files, inline styles |
| console (own CSP: `bot.console.render`) | nobody | own files |
| `/docs`, `/redoc` | nobody | Swagger UI / ReDoc from cdn.jsdelivr.net |
| everything else (JSON, SSE, redirects) | nobody | nothing |

Every response also gets `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`,
and `Strict-Transport-Security` when the public URL is https. A header a route set itself
wins. Plain ASGI (not `BaseHTTPMiddleware`) so the event streams are not buffered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PANEL_PATH = "/widget/panel.html"

_NOTHING = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_PANEL = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'"
)
_DEMO = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
_CDN = "https://cdn.jsdelivr.net"
_DOCS = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDN}; "
    f"style-src 'self' 'unsafe-inline' {_CDN} https://fonts.googleapis.com; "
    f"font-src 'self' https://fonts.gstatic.com; img-src 'self' data: {_CDN} "
    "https://fastapi.tiangolo.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def panel_frame_ancestors(allowed_origins: Sequence[str]) -> str | None:
    """The CSP directive that limits which sites may show the chat panel in their page: the
    bot's own (the demo page) and `allowed_origins`. None, so any site may, when that is empty."""
    if not allowed_origins:
        return None
    return "frame-ancestors 'self' " + " ".join(allowed_origins)


def page_headers(
    path: str, *, allowed_origins: Sequence[str] = (), https: bool = False
) -> dict[str, str]:
    """The security headers for a response to `path`."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if path == PANEL_PATH:
        ancestors = panel_frame_ancestors(allowed_origins)
        headers["Content-Security-Policy"] = f"{_PANEL}; {ancestors}" if ancestors else _PANEL
        return headers  # X-Frame-Options cannot name several sites: the CSP decides
    if path == "/demo":
        headers["Content-Security-Policy"] = _DEMO
        headers["X-Frame-Options"] = "SAMEORIGIN"
        return headers
    headers["X-Frame-Options"] = "DENY"
    if path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        headers["Content-Security-Policy"] = _DOCS
    elif not path.startswith(("/widget/", "/console/static/")):
        # (a CSP on a script or stylesheet means nothing: the page that loads it decides)
        headers["Content-Security-Policy"] = _NOTHING
    return headers


class SecurityHeaders:
    """ASGI middleware adding `page_headers` to every HTTP response that lacks them."""

    def __init__(
        self, app: ASGIApp, *, allowed_origins: Sequence[str] = (), https: bool = False
    ) -> None:
        self.app = app
        self.allowed_origins = tuple(allowed_origins)
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = page_headers(scope["path"], allowed_origins=self.allowed_origins, https=self.https)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: Any, *, allowed_origins: Sequence[str], public_base_url: str) -> None:
    app.add_middleware(
        SecurityHeaders,
        allowed_origins=allowed_origins,
        https=public_base_url.lower().startswith("https://"),
    )
