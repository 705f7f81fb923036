"""Request and response bodies of the visitor API, split by direction (`...Create` comes in,
`...Public` goes out). Validation here is the API's first line: it says what is wrong."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.models import Conversation, Handoff, Message
from bot.phrases import zone_name

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Drop control characters (keep newlines and tabs) and surrounding blank space."""
    return _CONTROL.sub("", value).strip()


MAX_ATTRIBUTES = 30  # per conversation, however many times the site identifies the visitor


class VisitorIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    external_id: str | None = Field(None, max_length=200)
    user_hash: str | None = Field(None, max_length=128)
    attributes: dict[str, str | int | float | bool] = Field(
        default_factory=dict, max_length=MAX_ATTRIBUTES
    )


class VisitorIdentified(BaseModel):
    """`PUT /conversations/{id}/visitor`: whether the site's identity hash proved who it is."""

    verified: bool


class ConversationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "locale": "de-DE",
                    "page_url": "https://shop.example/de/jacken",
                    "visitor": {
                        "name": "Jana",
                        "external_id": "cust-1042",
                        "user_hash": "<hmac-sha256 hex>",
                    },
                }
            ]
        },
    )
    locale: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$")
    page_url: str | None = Field(None, max_length=2000)
    visitor: VisitorIdentity | None = None


class MessageCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"client_id": "c0a8f2e4-7b1d-4f7e-9a55-1f2b3c4d5e6f", "text": "where is my parcel"}
            ]
        },
    )
    client_id: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Made by the client; a retry with the same id stores "
        "nothing twice and returns the first result.",
    )
    text: str = Field(min_length=1)
    article_id: str | None = Field(
        None, max_length=200, description="The article of a clicked quick reply."
    )

    @field_validator("text")
    @classmethod
    def _clean(cls, value: str) -> str:
        value = clean_text(value)
        if not value:
            raise ValueError("text is empty")
        return value


class HandoffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal["visitor_request"] = "visitor_request"


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(min_length=1, max_length=64)
    helpful: bool
    comment: str | None = Field(None, max_length=2000)


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)


class TypingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    typing: bool


class SourcePublic(BaseModel):
    article_id: str
    title: str
    url: str | None
    score: float


class HandoffPublic(BaseModel):
    """The open handoff as the visitor's widget shows it (header and email field)."""

    mode: Literal["live", "later", "email"] = Field(
        description="live: a person replies here soon; later: the team is away and answers "
        "here; email: the team is away and answers by email too"
    )
    wait_minutes: int | None
    email: str | None
    answer_by: dt.datetime | None
    time_zone: str | None = Field(
        None, description="The business time zone the promise was made in (IANA name)."
    )
    zone_name: str | None = Field(
        None, description='That zone as the visitor reads it: "Berlin time", "dansk tid".'
    )
    ask_email: bool = Field(
        False, description="The bot offered an email answer and waits for an address."
    )

    @classmethod
    def of(cls, handoff: Handoff, conversation: Conversation) -> HandoffPublic:
        email = conversation.contact_email
        mode = handoff.mode if handoff.mode in ("live", "later") else "email"
        zone = (handoff.packet or {}).get("promise", {}).get("time_zone")
        return cls(
            mode=mode,
            wait_minutes=handoff.wait_minutes,
            email=email if mode == "email" else None,
            answer_by=handoff.answer_by,
            time_zone=zone if mode != "live" else None,
            zone_name=zone_name(zone, conversation.lang) if zone and mode != "live" else None,
            ask_email=mode == "email" and not email and conversation.status == "waiting",
        )


class MessagePublic(BaseModel):
    id: str
    seq: int
    role: str
    kind: str
    text: str
    created_at: dt.datetime
    lang: str | None
    confidence: float | None
    sources: list[SourcePublic]
    quick_replies: list[dict[str, str]]
    agent_name: str | None
    handoff: dict[str, Any] | None
    client_id: str | None = Field(
        None, description="The visitor's own id for their message (matches SSE echoes)."
    )

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        details = message.details or {}
        return cls(
            id=message.id,
            seq=message.seq,
            role=message.role,
            kind=message.kind,
            text=message.text,
            created_at=message.created_at,
            lang=message.lang,
            confidence=message.confidence,
            sources=[SourcePublic(**s) for s in (message.sources or {}).get("items", [])],
            quick_replies=details.get("quick_replies", []),
            agent_name=message.agent.name if message.agent else None,
            handoff=details.get("handoff"),
            client_id=message.client_id if message.role == "visitor" else None,
        )


class AgentPublic(BaseModel):
    name: str


class ConversationPublic(BaseModel):
    id: str
    status: str
    lang: str
    agent: AgentPublic | None
    rating: int | None


class ConversationDetail(ConversationPublic):
    """`GET /conversations/{id}`: the conversation with its open handoff, if any."""

    handoff: HandoffPublic | None


class ConversationCreated(ConversationPublic):
    token: str
    messages: list[MessagePublic]


class TurnPublic(BaseModel):
    message: MessagePublic | None
    reply: MessagePublic | None


class StreamTicketPublic(BaseModel):
    """A pass for one conversation's event stream: `GET .../events?ticket=...`."""

    ticket: str
    expires_in: int


class MessagesPublic(BaseModel):
    messages: list[MessagePublic]
    status: str
    agent: AgentPublic | None


def conversation_public(conversation: Conversation) -> ConversationPublic:
    agent = conversation.assigned_agent
    return ConversationPublic(
        id=conversation.id,
        status=conversation.status,
        lang=conversation.lang,
        agent=AgentPublic(name=agent.name) if agent and conversation.status == "agent" else None,
        rating=conversation.rating,
    )


def conversation_status(conversation: Conversation, handoff: Handoff | None) -> ConversationDetail:
    """The conversation's state as the visitor sees it, with its open handoff: the one payload
    behind `GET /conversations/{id}`, the SSE `status` event and its catch-up alike."""
    return ConversationDetail(
        **conversation_public(conversation).model_dump(),
        handoff=HandoffPublic.of(handoff, conversation) if handoff else None,
    )
