"""The hand-over to a human, whole: what the bot tells the visitor, the promise of when a
person answers, the handoff record and the conversation's new state, the packet an agent (or
a webhook) gets so that nobody has to ask the customer again, and its delivery.

`hand_off` is the one way into the team's queue, whoever asks for it (the policy, the
visitor, a thumbs-down, a missing index); `take_email` is the step after it when the team is
away and the bot asked for an address.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import queries
from bot.config import Settings, parse_business_hours
from bot.intents import find_email
from bot.models import Conversation, Delivery, Handoff, Message, new_id
from bot.packet import build_packet
from bot.phrases import say
from bot.schemas import HandoffPublic
from bot.states import Transition, move

DEFAULT_RESPONSE_SECONDS = 120.0

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
}


@dataclass(frozen=True)
class Promise:
    """What the visitor is told: a live reply in about N minutes, or email by a time."""

    mode: str  # live | email
    wait_minutes: int | None
    answer_by: dt.datetime | None


def is_open(now: dt.datetime, settings: Settings) -> bool:
    local = now.astimezone(ZoneInfo(settings.business_timezone))
    hours = parse_business_hours(settings.business_hours).get(local.weekday())
    return hours is not None and hours[0] <= local.time() < hours[1]


def next_opening(now: dt.datetime, settings: Settings) -> dt.datetime:
    """The next moment the team is at work (now, if it is)."""
    zone = ZoneInfo(settings.business_timezone)
    hours = parse_business_hours(settings.business_hours)
    local = now.astimezone(zone)
    for day in range(8):
        date = (local + dt.timedelta(days=day)).date()
        span = hours.get(date.weekday())
        if span is None:
            continue
        opens = dt.datetime.combine(date, span[0], zone)
        closes = dt.datetime.combine(date, span[1], zone)
        if local < closes:
            return max(opens, local)
    return local + dt.timedelta(days=1)


def make_promise(
    *,
    now: dt.datetime,
    settings: Settings,
    agents_online: int,
    queue: int,
    recent_seconds: Sequence[float],
) -> Promise:
    """Live when the team is open and someone is online; the wait grows with the queue ahead
    and the recent median response time, shared by the agents online. Otherwise by email,
    within two working hours of the next opening."""
    if agents_online > 0 and is_open(now, settings):
        per_chat = statistics.median(recent_seconds) if recent_seconds else DEFAULT_RESPONSE_SECONDS
        minutes = math.ceil((queue + 1) * per_chat / agents_online / 60)
        return Promise("live", max(1, minutes), None)
    answer_by = next_opening(now, settings) + dt.timedelta(hours=2)
    # A promise reads better, and is kept more easily, on a quarter hour.
    answer_by += dt.timedelta(
        minutes=-answer_by.minute % 15,
        seconds=-answer_by.second,
        microseconds=-answer_by.microsecond,
    )
    return Promise("email", None, answer_by.astimezone(dt.UTC))


def format_time(moment: dt.datetime, lang: str, settings: Settings, now: dt.datetime) -> str:
    """ "today 10:00", "Monday 10:00" in the visitor's language and the business time zone."""
    zone = ZoneInfo(settings.business_timezone)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        day = {"en": "today", "de": "heute", "da": "i dag"}.get(lang, "today")
    elif local.date() == today + dt.timedelta(days=1):
        day = {"en": "tomorrow", "de": "morgen", "da": "i morgen"}.get(lang, "tomorrow")
    else:
        day = _WEEKDAYS.get(lang, _WEEKDAYS["en"])[local.weekday()]
    joiner = {"en": "at", "de": "um", "da": "kl."}.get(lang, "at")
    return f"{day} {joiner} {clock}"


def enqueue_webhook(
    *, session: Session, settings: Settings, event: str, payload: dict[str, Any]
) -> None:
    """Queue a webhook delivery in the same transaction as the change it reports, so a crash
    can't lose one and a receiver that is down gets it later (see `bot.deliveries`)."""
    if settings.webhook_url:
        session.add(Delivery(kind="webhook", payload={"event": event, "data": payload}))


# -- the act ---------------------------------------------------------------------------------


def hand_off(
    session: Session,
    conversation: Conversation,
    reason: str,
    *,
    settings: Settings,
    now: dt.datetime,
    reply_to: Message | None = None,
    confidence: float | None = None,
    details: dict[str, Any] | None = None,
    prefix: str = "",
) -> Message:
    """Hand the chat to humans: promise a time honestly, put the conversation in the queue,
    build the packet and queue its webhook, all in the caller's transaction. Returns the
    bot's handoff message (the caller publishes it, and the change of state, after commit)."""
    lang = conversation.lang
    promise = make_promise(
        now=now,
        settings=settings,
        agents_online=queries.agents_online(session=session, now=now),
        queue=queries.queue_length(session=session),
        recent_seconds=queries.recent_response_seconds(session=session),
    )
    email = conversation.contact_email
    ask_email = promise.mode == "email" and email is None
    text = _promise_text(promise, lang=lang, email=email, settings=settings, now=now)
    if ask_email:
        conversation.email_asked = True
    record = Handoff(
        id=new_id(),  # named in the handoff message: where the packet's case ends
        conversation_id=conversation.id,
        reason=reason,
        mode=promise.mode,
        wait_minutes=promise.wait_minutes,
        answer_by=promise.answer_by,
        created_at=now,
    )
    session.add(record)
    move(conversation, Transition.HAND_OFF)
    public = HandoffPublic.of(record, email).model_dump(mode="json")
    message = queries.append_message(
        session=session,
        conversation=conversation,
        role="bot",
        kind="handoff",
        lang=lang,
        reply_to_id=reply_to.id if reply_to else None,
        text=(prefix + "\n\n" + text) if prefix else text,
        confidence=confidence,
        details={**(details or {}), "reason": reason, "handoff": public, "handoff_id": record.id},
    )
    session.flush()
    packet = build_packet(
        session=session,
        conversation=conversation,
        handoff=record,
        base_url=settings.public_base_url,
    )
    record.summary = packet["summary"]
    record.packet = packet
    enqueue_webhook(session=session, settings=settings, event="handoff.created", payload=packet)
    return message


def _promise_text(
    promise: Promise, *, lang: str, email: str | None, settings: Settings, now: dt.datetime
) -> str:
    if promise.mode == "live":
        return say("handoff_live", lang, minutes=promise.wait_minutes)
    when = format_time(promise.answer_by or now, lang, settings, now)
    if email is None:
        return say("handoff_ask_email", lang, time=when)
    return say("handoff_email", lang, email=email, time=when)


def take_email(
    session: Session,
    conversation: Conversation,
    message: Message,
    *,
    settings: Settings,
    now: dt.datetime,
) -> Message | None:
    """While humans own the chat, the bot speaks only to take the address it asked for:
    thanks for a valid one, a hint for a mistyped one (text with an "@"). Anything else is
    more detail for the agent, and gets no reply (None)."""
    if not conversation.email_asked or conversation.contact_email:
        return None
    lang = conversation.lang
    email = find_email(message.text)
    if email is None:
        if "@" not in message.text:
            return None
        return _bot_says(session, message, say("email_invalid", lang))
    conversation.visitor_email = email
    handoff = queries.open_handoff(session=session, conversation_id=conversation.id)
    when = handoff.answer_by if handoff and handoff.answer_by else now
    time = format_time(when, lang, settings, now)
    return _bot_says(session, message, say("email_thanks", lang, email=email, time=time))


def _bot_says(session: Session, reply_to: Message, text: str) -> Message:
    conversation = reply_to.conversation
    return queries.append_message(
        session=session,
        conversation=conversation,
        role="bot",
        kind="prompt",
        lang=conversation.lang,
        reply_to_id=reply_to.id,
        text=text,
    )
