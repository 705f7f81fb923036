"""FastAPI dependencies: routes declare what they need with these `Annotated` types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from bot.context import AppContext
from bot.conversation import ChatService
from bot.desk import AgentDesk
from bot.errors import TooManyRequests


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]


def get_chat(context: Context) -> ChatService:
    return context.chat


def get_desk(context: Context) -> AgentDesk:
    return context.desk


Chat = Annotated[ChatService, Depends(get_chat)]
Desk = Annotated[AgentDesk, Depends(get_desk)]


def bearer_token(
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[
        str | None, Query(max_length=200, description="For EventSource, which cannot send headers.")
    ] = None,
) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return access_token


Token = Annotated[str | None, Depends(bearer_token)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit(context: AppContext, key: str, per_minute: int | None = None) -> None:
    """Refuse with 429 once `key` has used up its `per_minute` requests (default: the
    per-conversation limit) for this minute."""
    allowed = per_minute or context.settings.rate_limit_per_minute
    if not context.limiter.hit(key, allowed):
        raise TooManyRequests("too many requests; please wait a minute")
