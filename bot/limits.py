"""Refuse oversized or malformed requests before any route reads them.

`RequestLimits` is plain ASGI middleware, so it sees the request before FastAPI parses a
byte of it:

- a declared `Content-Length` over the limit gets 413 at once, without reading the body;
- a body without one (chunked) is counted while the route reads it, and reading stops with
  413 as soon as the count passes the limit, so a 10 MB body is never held whole;
- a NUL byte in the path or the query string gets 400: no id or parameter of ours holds
  one, and PostgreSQL refuses to store or even compare it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """Raised from inside `receive` once a streamed body passes the limit. An HTTPException,
    so FastAPI's body parsing passes it on unchanged and the error handler renders a 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._refuse(scope)
        if problem is not None:
            await _error(send, *problem)
            return
        counted = _Counted(receive, self.max_body_bytes)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted.receive, tracking_send)
        except BodyTooLarge as exc:
            # Only reached when the route read the body outside FastAPI's own parsing.
            if started:
                raise
            await _error(send, 413, "payload_too_large", str(exc.detail))

    def _refuse(self, scope: Scope) -> tuple[int, str, str] | None:
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
        if b"\x00" in unquote_to_bytes(raw_path) or b"\x00" in unquote_to_bytes(
            scope.get("query_string", b"")
        ):
            return 400, "bad_request", "the URL holds a NUL byte"
        declared = _content_length(scope)
        if declared == -1:
            return 400, "bad_request", "Content-Length is not a number"
        if declared is not None and declared > self.max_body_bytes:
            return (
                413,
                "payload_too_large",
                f"the request body is {declared} bytes; the limit is {self.max_body_bytes}",
            )
        return None


class _Counted:
    """`receive`, counting body bytes and stopping once they pass the limit."""

    def __init__(self, receive: Receive, limit: int):
        self._receive = receive
        self._limit = limit
        self._seen = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit:
                raise BodyTooLarge(self._limit)
        return message


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None when not given, -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else -1
    return None


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
