"""Read-only queries behind the agent console and the agent API: the queue, one conversation
with its packet, a handoff's packet, and the response-time figures.

They return plain data (dataclasses and dicts) built inside the session, so templates and JSON
never touch a lazy relationship after the session is gone.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import queries
from bot.models import Conversation, Handoff, Message
from bot.packet import build_packet, case_of


@dataclass(frozen=True)
class QueueEntry:
    """One handed-off chat in the queue."""

    conversation_id: str
    handoff_id: str
    status: str
    reason: str
    mode: str
    summary: str  # the case, question and reason first (`bot.packet`)
    new_messages: int  # from the customer since the handoff
    customer_name: str | None
    verified: bool
    lang: str
    since: dt.datetime
    waiting_seconds: float  # until the first agent reply, or until now
    answered: bool
    late: bool  # no reply yet and past the response target
    claimed_by: str | None
    mine: bool


@dataclass(frozen=True)
class ResponseTime:
    conversation_id: str
    handoff_id: str
    handed_off_at: dt.datetime
    first_reply_at: dt.datetime
    seconds: float
    within_target: bool
    agent: str | None


@dataclass(frozen=True)
class ResponseStats:
    """Handoff → first agent reply against the target, over the latest answered handoffs."""

    target_seconds: int
    answered: int
    median_seconds: float | None
    within_target: int
    waiting: int  # open handoffs nobody has answered yet
    rows: list[ResponseTime]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["share_within_target"] = (
            round(self.within_target / self.answered, 4) if self.answered else None
        )
        for row in data["rows"]:
            row["handed_off_at"] = row["handed_off_at"].isoformat()
            row["first_reply_at"] = row["first_reply_at"].isoformat()
            row["seconds"] = round(row["seconds"], 3)
        if data["median_seconds"] is not None:
            data["median_seconds"] = round(data["median_seconds"], 3)
        return data


def queue(
    *, session: Session, now: dt.datetime, agent_id: str, target_seconds: int
) -> list[QueueEntry]:
    """Open handoffs: unanswered first, longest waiting on top; then chats being answered."""
    rows = session.scalars(
        select(Handoff)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .options(
            selectinload(Handoff.conversation).selectinload(Conversation.customer),
            selectinload(Handoff.claimed_by),
        )
        .where(Handoff.resolved_at.is_(None), Conversation.status.in_(("waiting", "agent")))
    ).all()
    messages = _messages_of(session, [h.conversation_id for h in rows])
    entries = []
    for handoff in rows:
        conversation = handoff.conversation
        case = case_of(messages.get(conversation.id, []), handoff)
        end = handoff.first_reply_at or now
        waited = max(0.0, (end - handoff.created_at).total_seconds())
        entries.append(
            QueueEntry(
                conversation_id=conversation.id,
                handoff_id=handoff.id,
                status=conversation.status,
                reason=handoff.reason,
                mode=handoff.mode,
                summary=case.summary,
                new_messages=case.new_messages,
                customer_name=conversation.contact_name,
                verified=conversation.verified,
                lang=conversation.lang,
                since=handoff.created_at,
                waiting_seconds=waited,
                answered=handoff.first_reply_at is not None,
                late=handoff.first_reply_at is None and waited > target_seconds,
                claimed_by=handoff.claimed_by.name if handoff.claimed_by else None,
                mine=handoff.claimed_by_id == agent_id,
            )
        )
    entries.sort(key=lambda e: (e.answered, -e.waiting_seconds))
    return entries


def _messages_of(session: Session, conversation_ids: list[str]) -> dict[str, list[Message]]:
    """The messages (no internal notes) of these conversations, in order, in one query."""
    found: dict[str, list[Message]] = {cid: [] for cid in conversation_ids}
    if conversation_ids:
        for message in session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(conversation_ids), Message.role != "note")
            .order_by(Message.conversation_id, Message.seq)
        ):
            found[message.conversation_id].append(message)
    return found


def response_stats(*, session: Session, target_seconds: int, limit: int = 200) -> ResponseStats:
    """Per handoff and as a median: how long the customer waited for a person's first word."""
    answered = session.scalars(
        select(Handoff)
        .options(selectinload(Handoff.claimed_by))
        .where(Handoff.first_reply_at.is_not(None))
        .order_by(Handoff.first_reply_at.desc())
        .limit(limit)
    ).all()
    rows = []
    for handoff in answered:
        assert handoff.first_reply_at is not None
        seconds = max(0.0, (handoff.first_reply_at - handoff.created_at).total_seconds())
        rows.append(
            ResponseTime(
                conversation_id=handoff.conversation_id,
                handoff_id=handoff.id,
                handed_off_at=handoff.created_at,
                first_reply_at=handoff.first_reply_at,
                seconds=seconds,
                within_target=seconds <= target_seconds,
                agent=handoff.claimed_by.name if handoff.claimed_by else None,
            )
        )
    waiting = len(
        session.scalars(
            select(Handoff.id).where(
                Handoff.first_reply_at.is_(None), Handoff.resolved_at.is_(None)
            )
        ).all()
    )
    return ResponseStats(
        target_seconds=target_seconds,
        answered=len(rows),
        median_seconds=statistics.median(r.seconds for r in rows) if rows else None,
        within_target=sum(r.within_target for r in rows),
        waiting=waiting,
        rows=rows,
    )


def latest_handoff(*, session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.created_at.desc())
        .limit(1)
    )


def handoff_state(handoff: Handoff) -> dict[str, Any]:
    """Where a handoff stands now (the packet itself is what the bot knew at the time)."""
    return {
        "id": handoff.id,
        "reason": handoff.reason,
        "mode": handoff.mode,
        "conversation_status": handoff.conversation.status,
        "created_at": handoff.created_at.isoformat(),
        "claimed_by": handoff.claimed_by.name if handoff.claimed_by else None,
        "claimed_by_id": handoff.claimed_by_id,
        "claimed_at": handoff.claimed_at.isoformat() if handoff.claimed_at else None,
        "first_reply_at": handoff.first_reply_at.isoformat() if handoff.first_reply_at else None,
        "first_reply_seconds": (
            round((handoff.first_reply_at - handoff.created_at).total_seconds(), 3)
            if handoff.first_reply_at
            else None
        ),
        "resolved_at": handoff.resolved_at.isoformat() if handoff.resolved_at else None,
    }


def handoff_packet(*, session: Session, handoff_id: str, base_url: str) -> dict[str, Any] | None:
    """The packet of one handoff, rebuilt now so the transcript includes what was said since,
    plus its current state."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return None
    packet = build_packet(
        session=session, conversation=handoff.conversation, handoff=handoff, base_url=base_url
    )
    packet["state"] = handoff_state(handoff)
    return packet


def conversation_view(
    *, session: Session, conversation_id: str, base_url: str, now: dt.datetime
) -> dict[str, Any] | None:
    """Everything the console's conversation page shows: the packet of the latest handoff,
    its state, and the transcript with internal notes."""
    conversation = queries.get_conversation(session=session, conversation_id=conversation_id)
    if conversation is None:
        return None
    handoff = latest_handoff(session=session, conversation_id=conversation.id)
    packet = None
    if handoff is not None:
        packet = build_packet(
            session=session, conversation=conversation, handoff=handoff, base_url=base_url
        )
    return {
        "id": conversation.id,
        "status": conversation.status,
        "lang": conversation.lang,
        "created_at": conversation.created_at,
        "customer": {
            "name": conversation.contact_name,
            "email": conversation.contact_email,
            "verified": conversation.verified,
            "page_url": conversation.page_url,
        },
        "handoff": handoff_state(handoff) if handoff else None,
        "open": handoff is not None and handoff.resolved_at is None,
        "handed_off_at": handoff.created_at if handoff else None,
        "answer_by": handoff.answer_by if handoff else None,
        "waited_seconds": (
            max(0.0, ((handoff.first_reply_at or now) - handoff.created_at).total_seconds())
            if handoff
            else None
        ),
        "packet": packet,
        "transcript": transcript(session=session, conversation_id=conversation.id),
    }


def transcript(*, session: Session, conversation_id: str) -> list[dict[str, Any]]:
    """All messages, internal notes included (this is for agents only)."""
    return [
        {
            "seq": m.seq,
            "role": m.role,
            "kind": m.kind,
            "text": m.text,
            "at": m.created_at,
            "agent": m.agent.name if m.agent else None,
            "confidence": m.confidence,
            "sources": (m.sources or {}).get("items", []),
        }
        for m in queries.messages_after(
            session=session, conversation_id=conversation_id, include_notes=True
        )
    ]
