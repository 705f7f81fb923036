"""The agent API under `/api/v1/agent` (JSON): the handoff packet, the queue and the response
time figures, for the console's own scripts and for integrations. Authorised by the console
session cookie or `Authorization: Bearer <agent API token>` (`supportbot agents token`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from bot.console import queries
from bot.console.auth import AgentLogin
from bot.deps import Context
from bot.errors import NotFound
from bot.schemas import ID_PATTERN

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in (no console session, no valid agent token)"},
    404: {"description": "No such handoff"},
}


@router.get("/handoffs/{handoff_id}", responses=ERRORS)
def get_handoff(
    handoff_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
    context: Context,
    login: AgentLogin,
) -> dict[str, Any]:
    """The handoff packet (what the webhook receives), rebuilt now, with its current state."""
    with context.db.session() as session:
        packet = queries.handoff_packet(
            session=session, handoff_id=handoff_id, base_url=context.settings.public_base_url
        )
    if packet is None:
        raise NotFound("no handoff with that id")
    return packet


@router.get("/queue", responses={401: ERRORS[401]})
def get_queue(context: Context, login: AgentLogin) -> dict[str, Any]:
    """Open handoffs, unanswered first and longest waiting on top."""
    target = context.settings.response_target_seconds
    with context.db.session() as session:
        entries = queries.queue(
            session=session,
            now=context.chat.clock(),
            agent_id=login.agent_id,
            target_seconds=target,
        )
    return {
        "target_seconds": target,
        "entries": [{**entry.__dict__, "since": entry.since.isoformat()} for entry in entries],
    }


@router.get("/stats", responses={401: ERRORS[401]})
def get_stats(context: Context, login: AgentLogin) -> dict[str, Any]:
    """Handoff → first agent reply: per conversation, the median, and how many were within
    `response_target_seconds`."""
    with context.db.session() as session:
        stats = queries.response_stats(
            session=session, target_seconds=context.settings.response_target_seconds
        )
    return stats.as_json()
