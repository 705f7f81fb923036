"""Request and response bodies of the visitor API, split by direction (`...Create` comes in,
`...Public` goes out). Validation here is the API's first line: it says what is wrong."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.models import Conversation, Handoff, Message
from bot.phrases import zone_name

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Drop control characters (keep newlines and tabs) and surrounding blank space."""
    return _CONTROL.sub("", value).strip()


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _storable(value: str) -> str:
    """Refuse what no database column and no page can hold: a NUL (PostgreSQL rejects it) or
    a lone surrogate (`"\\ud800"` in JSON; it cannot be written as UTF-8, so the page or the
    packet that shows it would fail)."""
    found = _UNSTORABLE.search(value)
    if found:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
        raise ValueError(f"holds {what} at position {found.start()}")
    return value


# Every string that comes in is one of these, with a max_length on the field.
Text = Annotated[str, AfterValidator(_storable)]

MAX_ATTRIBUTES = 30  # per conversation, however many times the site identifies the visitor
MAX_ATTRIBUTES_BYTES = 8 * 1024  # all of a conversation's attributes, as JSON
MAX_SEQ = 2**31 - 1  # the largest message sequence number the database holds
# A path id: what `new_id` makes, with room for other id schemes; never a NUL or a slash.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

AttributeName = Annotated[Text, Field(min_length=1, max_length=64)]
AttributeValue = (
    Annotated[Text, Field(max_length=1000)]
    | bool
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Field(allow_inf_nan=False)]
)


def attributes_problem(attributes: dict[str, Any]) -> str | None:
    """Why this set of attributes is too much for one conversation, or None."""
    if len(attributes) > MAX_ATTRIBUTES:
        return f"at most {MAX_ATTRIBUTES} per conversation ({len(attributes)} here)"
    size = len(json.dumps(attributes, ensure_ascii=False).encode("utf-8"))
    if size > MAX_ATTRIBUTES_BYTES:
        return f"attributes take {size} bytes as JSON; the limit is {MAX_ATTRIBUTES_BYTES}"
    return None


class VisitorIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(None, max_length=200)
    email: Text | None = Field(None, max_length=320)
    external_id: Text | None = Field(None, max_length=200)
    user_hash: Text | None = Field(None, max_length=128)
    attributes: dict[AttributeName, AttributeValue] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description=f"At most {MAX_ATTRIBUTES} per conversation and "
        f"{MAX_ATTRIBUTES_BYTES} bytes as JSON, counting earlier ones.",
    )

    @model_validator(mode="after")
    def _bounded(self) -> VisitorIdentity:
        problem = attributes_problem(self.attributes)
        if problem:
            raise ValueError(problem)
        return self


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
    page_url: Text | None = Field(None, max_length=2000)
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
    text: Text = Field(
        min_length=1,
        max_length=100_000,
        description="Longer than the server's `max_message_chars` (2,000 by default): 413.",
    )
    article_id: Text | None = Field(
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
    message_id: Text = Field(min_length=1, max_length=64)
    helpful: bool
    comment: Text | None = Field(None, max_length=2000)


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: Text | None = Field(None, max_length=2000)


class TypingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    typing: bool


class SourcePublic(BaseModel):
    article_id: str
    title: str
    url: str | None
    score: float
    section: str | None = Field(
        default=None,
        description='The heading of the article\'s section the answer shows ("" for the '
        "article's lead), to show as title › section; absent on choices and older replies",
    )


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
    updated_at: str = Field(
        description="When the conversation last changed, UTC, fixed width "
        "(`2026-12-01T09:00:00.000000Z`), so two compare as strings: a status read before a "
        "change the client has already seen (a GET answered after the live event) is older."
    )


class ConversationDetail(ConversationPublic):
    """`GET /conversations/{id}`: the conversation with its open handoff, if any."""

    handoff: HandoffPublic | None


class ConversationCreated(ConversationPublic):
    token: str
    messages: list[MessagePublic]


class TurnPublic(BaseModel):
    message: MessagePublic | None
    reply: MessagePublic | None
    lang: str | None = Field(
        None,
        description="The conversation's language after this turn: the widget's own words "
        "follow it (a reply's `lang` is its article's, which may be another).",
    )


class StreamTicketPublic(BaseModel):
    """A pass for one conversation's event stream: `GET .../events?ticket=...`."""

    ticket: str
    expires_in: int


class MessagesPublic(BaseModel):
    messages: list[MessagePublic]
    status: str
    agent: AgentPublic | None
    lang: str | None = Field(None, description="The conversation's language.")


def conversation_public(conversation: Conversation) -> ConversationPublic:
    agent = conversation.assigned_agent
    return ConversationPublic(
        id=conversation.id,
        status=conversation.status,
        lang=conversation.lang,
        agent=AgentPublic(name=agent.name) if agent and conversation.status == "agent" else None,
        rating=conversation.rating,
        updated_at=stamp(conversation.updated_at),
    )


def stamp(moment: dt.datetime) -> str:
    """`moment` as fixed-width UTC text; a naive one (SQLite) is UTC already."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def conversation_status(conversation: Conversation, handoff: Handoff | None) -> ConversationDetail:
    """The conversation's state as the visitor sees it, with its open handoff: the one payload
    behind `GET /conversations/{id}`, the SSE `status` event and its catch-up alike."""
    return ConversationDetail(
        **conversation_public(conversation).model_dump(),
        handoff=HandoffPublic.of(handoff, conversation) if handoff else None,
    )
