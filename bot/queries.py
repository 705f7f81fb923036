"""Queries. Keyword-only functions that take the session first; no commits here (the caller's
unit of work decides), so one visitor turn is stored whole or not at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.models import Agent, Conversation, Customer, Feedback, Handoff, Message, utcnow


def get_or_create_customer(
    *, session: Session, external_id: str, name: str | None, email: str | None
) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        customer = Customer(external_id=external_id, name=name, email=email)
        session.add(customer)
        session.flush()
    else:  # the site knows best: newer name/email win
        customer.name = name or customer.name
        customer.email = email or customer.email
    return customer


def create_conversation(
    *,
    session: Session,
    token_hash: str,
    lang: str,
    locale: str | None,
    page_url: str | None,
    visitor_name: str | None,
    visitor_email: str | None,
    claimed_external_id: str | None,
    customer: Customer | None,
    attributes: dict[str, Any],
) -> Conversation:
    conversation = Conversation(
        token_hash=token_hash,
        lang=lang,
        locale=locale,
        page_url=page_url,
        visitor_name=visitor_name,
        visitor_email=visitor_email,
        claimed_external_id=claimed_external_id,
        customer=customer,
        verified=customer is not None,
        attributes=attributes,
    )
    session.add(conversation)
    session.flush()
    return conversation


def get_conversation(
    *, session: Session, conversation_id: str, lock: bool = False
) -> Conversation | None:
    """`lock` serialises writers on this conversation (row lock on PostgreSQL; SQLite has one
    writer at a time anyway)."""
    query = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def token_exists(*, session: Session, token_hash: str) -> bool:
    return (
        session.scalar(
            select(Conversation.id).where(Conversation.token_hash == token_hash).limit(1)
        )
        is not None
    )


def append_message(
    *,
    session: Session,
    conversation: Conversation,
    role: str,
    text: str,
    kind: str = "text",
    lang: str | None = None,
    client_id: str | None = None,
    reply_to_id: str | None = None,
    confidence: float | None = None,
    sources: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
    agent: Agent | None = None,
) -> Message:
    conversation.last_seq += 1
    conversation.updated_at = utcnow()
    message = Message(
        conversation_id=conversation.id,
        seq=conversation.last_seq,
        role=role,
        kind=kind,
        text=text,
        lang=lang,
        client_id=client_id,
        reply_to_id=reply_to_id,
        confidence=confidence,
        sources={"items": sources or []},
        details=details or {},
        agent=agent,
        agent_id=agent.id if agent else None,
    )
    session.add(message)
    session.flush()
    return message


def find_client_message(
    *, session: Session, conversation_id: str, client_id: str
) -> Message | None:
    # The agent is loaded now: a retry's messages are rendered after the session closes.
    return session.scalar(
        select(Message)
        .options(selectinload(Message.agent))
        .where(Message.conversation_id == conversation_id, Message.client_id == client_id)
    )


def reply_of(*, session: Session, message_id: str) -> Message | None:
    return session.scalar(
        select(Message)
        .options(selectinload(Message.agent))
        .where(Message.reply_to_id == message_id)
        .order_by(Message.seq)
        .limit(1)
    )


def get_message(*, session: Session, conversation_id: str, message_id: str) -> Message | None:
    return session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id)
    )


def messages_after(
    *,
    session: Session,
    conversation_id: str,
    after: int = 0,
    include_notes: bool = False,
    limit: int = 500,
) -> Sequence[Message]:
    query = (
        select(Message)
        .options(selectinload(Message.agent))
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
        .limit(limit)
    )
    if not include_notes:
        query = query.where(Message.role != "note")
    return session.scalars(query).all()


def recent_bot_messages(
    *, session: Session, conversation_id: str, limit: int = 3
) -> Sequence[Message]:
    return session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == "bot")
        .order_by(Message.seq.desc())
        .limit(limit)
    ).all()


def last_visitor_message(*, session: Session, conversation_id: str) -> Message | None:
    return session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == "visitor")
        .order_by(Message.seq.desc())
        .limit(1)
    ).first()


def add_feedback(
    *, session: Session, conversation_id: str, message: Message, helpful: bool, comment: str | None
) -> tuple[Feedback, bool]:
    """Store (or update) the visitor's verdict on one bot message; True if it is new."""
    existing = session.scalar(select(Feedback).where(Feedback.message_id == message.id))
    if existing is not None:
        changed = existing.helpful != helpful
        existing.helpful, existing.comment = helpful, comment
        return existing, changed
    feedback = Feedback(
        conversation_id=conversation_id, message_id=message.id, helpful=helpful, comment=comment
    )
    session.add(feedback)
    session.flush()
    return feedback, True


def open_handoff(*, session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.resolved_at.is_(None))
        .order_by(Handoff.created_at.desc())
        .limit(1)
    )


def queue_length(*, session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.status == "waiting")
        )
        or 0
    )


def agents_online(*, session: Session, now: dt.datetime, fresh_seconds: int = 120) -> int:
    """Agents marked online who have been seen recently (a closed laptop stops counting)."""
    since = now - dt.timedelta(seconds=fresh_seconds)
    return (
        session.scalar(
            select(func.count())
            .select_from(Agent)
            .where(Agent.presence == "online", Agent.last_seen_at >= since)
        )
        or 0
    )


def recent_response_seconds(*, session: Session, limit: int = 20) -> list[float]:
    """Handoff → first agent reply, for the latest answered handoffs."""
    rows = session.execute(
        select(Handoff.created_at, Handoff.first_reply_at)
        .where(Handoff.first_reply_at.is_not(None))
        .order_by(Handoff.first_reply_at.desc())
        .limit(limit)
    ).all()
    return [(reply - created).total_seconds() for created, reply in rows if reply is not None]


def earlier_conversations(
    *, session: Session, customer_id: str, exclude: str, limit: int = 10
) -> Sequence[Conversation]:
    return session.scalars(
        select(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.id != exclude)
        .order_by(Conversation.created_at.desc())
        .limit(limit)
    ).all()


def unanswered_handoffs(*, session: Session, now: dt.datetime) -> tuple[int, float]:
    """Handed-off chats still waiting for a person's first reply, and the oldest one's wait in
    seconds (for `/metrics`)."""
    count, oldest = session.execute(
        select(func.count(Handoff.id), func.min(Handoff.created_at))
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(
            Handoff.resolved_at.is_(None),
            Handoff.first_reply_at.is_(None),
            Conversation.status == "waiting",
        )
    ).one()
    if not count or oldest is None:
        return 0, 0.0
    if oldest.tzinfo is None:  # SQLite hands datetimes back without their zone
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(count), max(0.0, (now - oldest).total_seconds())
