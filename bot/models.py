"""Database tables (SQLAlchemy 2). Schema changes go through Alembic (`bot/migrations`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware in Python everywhere. SQLite keeps no zone, so values are stored as UTC
    and the zone is put back on read. (A TypeDecorator, because a plain DateTime subclass is
    replaced by the dialect's own type and its result processor never runs.)"""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


class Customer(Base):
    """A verified customer of the site (external_id proven by the identity HMAC)."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    locale: Mapped[str | None] = mapped_column(String(35))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    visitor_name: Mapped[str | None] = mapped_column(String(200))
    visitor_email: Mapped[str | None] = mapped_column(String(320))
    claimed_external_id: Mapped[str | None] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    email_asked: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.seq", cascade="all, delete-orphan"
    )
    handoffs: Mapped[list[Handoff]] = relationship(
        back_populates="conversation", order_by="Handoff.created_at", cascade="all, delete-orphan"
    )
    customer: Mapped[Customer | None] = relationship()
    assigned_agent: Mapped[Agent | None] = relationship()

    @property
    def contact_name(self) -> str | None:
        if self.customer is not None and self.customer.name:
            return self.customer.name
        return self.visitor_name

    @property
    def contact_email(self) -> str | None:
        """Where the team writes to the customer: a verified customer's address (the site
        vouches for it), else the one the visitor typed."""
        if self.customer is not None and self.customer.email:
            return self.customer.email
        return self.visitor_email


class Message(Base):
    """One line of a conversation. `seq` orders it and is the SSE event id."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # visitor | bot | agent | system | note
    kind: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    client_id: Mapped[str | None] = mapped_column(String(64))
    reply_to_id: Mapped[str | None] = mapped_column(String(32), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"items": [...]}
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # retrieval, reason, handoff
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    agent: Mapped[Agent | None] = relationship()


class Handoff(Base):
    """One hand-over to humans: why, what was promised, and how fast it was kept."""

    __tablename__ = "handoffs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(8))  # live | email
    wait_minutes: Mapped[int | None] = mapped_column(Integer)
    answer_by: Mapped[dt.datetime | None] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")
    packet: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_by_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    first_reply_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    conversation: Mapped[Conversation] = relationship(back_populates="handoffs")
    claimed_by: Mapped[Agent | None] = relationship()


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("message_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(8), default="agent")  # agent | lead
    password_hash: Mapped[str] = mapped_column(String(200))
    presence: Mapped[str] = mapped_column(String(8), default="offline")  # online|away|offline
    last_seen_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AgentSession(Base):
    """A console login; the cookie holds the token, the table only its hash."""

    __tablename__ = "agent_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    agent: Mapped[Agent] = relationship()


class Delivery(Base):
    """Something to deliver outside (webhook, email), retried with backoff until it lands.

    The table keeps its first name, "outbox" (the transactional-outbox pattern it implements);
    renaming it would need a migration for no change in behaviour."""

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | email
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
