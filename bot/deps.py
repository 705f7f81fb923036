"""FastAPI dependencies: routes declare what they need with these `Annotated` types."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Header, Request

from bot.context import AppContext
from bot.conversation import ChatService
from bot.desk import AgentDesk
from bot.errors import TooManyRequests

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    """The conversation token, from the `Authorization` header only: a token in a URL ends up
    in access logs, proxies and browser history. (The event stream, which a browser opens
    without headers, takes a short-lived stream ticket instead: `bot.access.StreamTickets`.)"""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


Token = Annotated[str | None, Depends(bearer_token)]


def client_address(request: Request) -> str:
    """The address a request came from, for rate limits and login throttling.

    `X-Forwarded-For` is read only when the connection comes from one of `trusted_proxies`;
    then the rightmost address that is not itself a trusted proxy is the client (the ones to
    its left are whatever the client chose to send)."""
    peer = request.client.host if request.client else "unknown"
    trusted = _networks(get_context(request).settings.trusted_proxies)
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop if _parse(hop) is not None else peer
    return hops[0] if hops else peer


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _within(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in networks)


def limit(context: AppContext, key: str, per_minute: int | None = None) -> None:
    """Refuse with 429 once `key` has used up its `per_minute` requests (default: the
    per-conversation limit) for this minute."""
    allowed = per_minute or context.settings.rate_limit_per_minute
    if not context.limiter.hit(key, allowed):
        raise TooManyRequests("too many requests; please wait a minute")
