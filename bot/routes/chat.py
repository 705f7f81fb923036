"""The visitor API under `/api/v1`: what the widget (and any other client) calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from bot.access import StreamTickets
from bot.conversation import ChatService
from bot.deps import Chat, Context, Token, client_address, limit
from bot.errors import Unauthorized
from bot.events import conversation_channel
from bot.schemas import (
    ID_PATTERN,
    MAX_SEQ,
    ConversationCreate,
    ConversationCreated,
    ConversationDetail,
    FeedbackCreate,
    HandoffCreate,
    MessageCreate,
    MessagePublic,
    MessagesPublic,
    RatingCreate,
    StreamTicketPublic,
    TurnPublic,
    TypingCreate,
    VisitorIdentified,
    VisitorIdentity,
    conversation_public,
)

router = APIRouter(prefix="/api/v1", tags=["visitor"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown token"},
    404: {"description": "No such conversation for this token"},
    422: {"description": "Invalid body"},
    429: {"description": "Rate limited"},
}
PING_SECONDS = 15.0
ConversationId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]


@router.post(
    "/conversations",
    status_code=201,
    response_model=ConversationCreated,
    responses={422: ERRORS[422], 429: ERRORS[429]},
)
def create_conversation(
    body: ConversationCreate, chat: Chat, context: Context, request: Request
) -> dict[str, Any]:
    """Start a conversation. Keep the returned `token`: it authorises every later call."""
    per_address = context.settings.conversations_per_minute_per_address
    limit(context, f"create:{client_address(request)}", per_address)
    conversation, token, messages = chat.start(body)
    return {
        **conversation_public(conversation).model_dump(),
        "token": token,
        "messages": [MessagePublic.of(m) for m in messages],
    }


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses={401: ERRORS[401], 404: ERRORS[404]},
)
def get_conversation(
    conversation_id: ConversationId, chat: Chat, token: Token
) -> ConversationDetail:
    """The conversation's status and its open handoff (who answers, and when)."""
    return chat.status(conversation_id, token)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=TurnPublic,
    responses={
        **ERRORS,
        409: {"description": "client_id reused for other text"},
        413: {"description": "Text over the limit"},
    },
)
def post_message(
    conversation_id: ConversationId,
    body: MessageCreate,
    chat: Chat,
    context: Context,
    token: Token,
    request: Request,
) -> dict[str, Any]:
    """Send the visitor's message; the bot's reply comes back at once (`null` while a person
    has the chat). Retrying with the same `client_id` is safe."""
    address = client_address(request)

    def admit() -> None:
        limit(context, f"msg:{conversation_id}")
        limit(context, f"msg-from:{address}", context.settings.messages_per_minute_per_address)

    turn = chat.visitor_message(conversation_id, token, body, admit=admit)
    if turn.reply is not None:
        context.metrics.reply(turn.reply.kind)
    return {
        "message": MessagePublic.of(turn.message) if turn.message else None,
        "reply": MessagePublic.of(turn.reply) if turn.reply else None,
        "lang": turn.lang,
    }


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=MessagesPublic,
    responses={401: ERRORS[401], 404: ERRORS[404]},
)
def list_messages(
    conversation_id: ConversationId,
    chat: Chat,
    token: Token,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
) -> MessagesPublic:
    """Messages with a sequence number above `after` (0: all), oldest first."""
    return chat.messages(conversation_id, token, after=after)


@router.put(
    "/conversations/{conversation_id}/visitor",
    response_model=VisitorIdentified,
    responses={**ERRORS, 409: {"description": "Tied to another customer already"}},
)
def identify_visitor(
    conversation_id: ConversationId, body: VisitorIdentity, chat: Chat, token: Token
) -> dict[str, Any]:
    """Who the visitor is, when they sign in after the chat started: with a valid
    `user_hash` the agent sees the verified customer and their earlier chats."""
    return {"verified": chat.identify(conversation_id, token, body)}


@router.post(
    "/conversations/{conversation_id}/handoff",
    response_model=TurnPublic,
    responses={**ERRORS, 409: {"description": "Already with the team"}},
)
def request_handoff(
    conversation_id: ConversationId,
    chat: Chat,
    context: Context,
    token: Token,
    body: HandoffCreate | None = None,
) -> dict[str, Any]:
    """The visitor asks for a person (the "talk to a person" button)."""
    turn = chat.request_handoff(conversation_id, token)
    if turn.reply is not None:
        context.metrics.reply(turn.reply.kind)
    reply = MessagePublic.of(turn.reply) if turn.reply else None
    return {"message": None, "reply": reply, "lang": turn.lang}


@router.post("/conversations/{conversation_id}/feedback", status_code=204, responses=ERRORS)
def post_feedback(
    conversation_id: ConversationId, body: FeedbackCreate, chat: Chat, token: Token
) -> Response:
    chat.feedback(conversation_id, token, body)
    return Response(status_code=204)


@router.post(
    "/conversations/{conversation_id}/rating",
    status_code=204,
    responses={**ERRORS, 409: {"description": "Not resolved by an agent yet"}},
)
def post_rating(
    conversation_id: ConversationId, body: RatingCreate, chat: Chat, token: Token
) -> Response:
    chat.rate(conversation_id, token, body.rating, body.comment)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/typing", status_code=204, responses=ERRORS)
def post_typing(
    conversation_id: ConversationId, body: TypingCreate, chat: Chat, context: Context, token: Token
) -> Response:
    key = f"typing:{conversation_id}"
    chat.visitor_typing(conversation_id, token, body.typing, admit=lambda: limit(context, key))
    return Response(status_code=204)


@router.post(
    "/conversations/{conversation_id}/stream-ticket",
    response_model=StreamTicketPublic,
    responses={401: ERRORS[401], 404: ERRORS[404]},
)
def stream_ticket(
    conversation_id: ConversationId, chat: Chat, context: Context, token: Token
) -> StreamTicketPublic:
    """A single-use pass, valid for a minute, to open this conversation's event stream. (A
    browser's EventSource cannot send the `Authorization` header, and a token in a URL would
    be written to access logs.)"""
    chat.check_access(conversation_id, token)
    return StreamTicketPublic(
        ticket=context.tickets.issue(conversation_id), expires_in=StreamTickets.SECONDS
    )


@router.get(
    "/conversations/{conversation_id}/events",
    responses={
        **ERRORS,
        200: {
            "content": {"text/event-stream": {}},
            "description": "message, status and typing events",
        },
    },
)
async def events(
    conversation_id: ConversationId,
    request: Request,
    chat: Chat,
    context: Context,
    token: Token,
    ticket: Annotated[
        str | None, Query(max_length=200, description="From `POST .../stream-ticket`.")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    last_event_id_query: Annotated[
        int | None, Query(alias="last_event_id", ge=0, le=MAX_SEQ)
    ] = None,
) -> StreamingResponse:
    """Server-sent events. Resumes after `Last-Event-ID` (the last message `seq` seen).
    Authorised by the bearer header, or by a `ticket` (what a browser's EventSource uses)."""
    if ticket is not None and token is None:
        if not context.tickets.redeem(ticket, conversation_id):
            raise Unauthorized("stream ticket invalid, expired or used; fetch a new one")
    else:
        await run_in_threadpool(chat.check_access, conversation_id, token)
    after = last_event_id_query or 0
    # `isdigit` alone takes "²" or "٣", which int() refuses; anything else is ignored.
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        after = min(int(last_event_id), MAX_SEQ)
    stream = _stream(request, chat, conversation_id, after)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, chat: ChatService, conversation_id: str, after: int
) -> AsyncIterator[str]:
    async with chat.bus.subscribe(conversation_channel(conversation_id)) as subscription:
        # Subscribe first, then catch up from the database: nothing falls in between, and
        # anything seen twice is skipped by its sequence number.
        messages, status = await run_in_threadpool(chat.catch_up, conversation_id, after=after)
        last = after
        yield "retry: 3000\n\n"
        for message in messages:
            last = max(last, message["seq"])
            yield _sse("message", message, message["seq"])
        yield _sse("status", status)
        while not await request.is_disconnected():
            event = await subscription.next(PING_SECONDS)
            if event is None:
                yield ": ping\n\n"
                continue
            if event["event"] == "message":
                if event["id"] <= last:
                    continue
                last = event["id"]
            yield _sse(event["event"], event["data"], event.get("id"))
            await asyncio.sleep(0)


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
