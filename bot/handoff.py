"""The hand-over to a human, whole: what the bot tells the visitor, the promise of when a
person answers, the handoff record and the conversation's new state, the packet an agent (or
a webhook) gets so that nobody has to ask the customer again, and its delivery.

`hand_off` is the one way into the team's queue, whoever asks for it (the policy, the
visitor, a thumbs-down, a missing index); `while_with_team` is what the bot says (or does not
say) to what the visitor writes while the chat is with the team, the address it offered to
take (`take_email`) included.

The promise names a time the visitor can check: relative when it is soon ("in about 5
minutes"), otherwise a day and a clock time with the business time zone ("by tomorrow at
10:00 (Berlin time)"). Email is offered only when an answer can reach the visitor by email
(`Settings.replies_by_email`); otherwise the team answers in this chat, which stays on the page.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import queries
from bot.config import Settings, parse_business_hours
from bot.intents import classify, find_email
from bot.models import Conversation, Delivery, Handoff, Message, new_id
from bot.packet import build_packet
from bot.phrases import WEEKDAYS, say, zone_name
from bot.schemas import HandoffPublic
from bot.states import Status, Transition, move, status_of

DEFAULT_RESPONSE_SECONDS = 120.0


@dataclass(frozen=True)
class Promise:
    """What the visitor is told: a live reply in about N minutes; or, while the team is away,
    an answer by a time, in this chat only ("later") or by email too ("email")."""

    mode: str  # live | later | email
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
    and the recent median response time, shared by the agents online. Otherwise within two
    working hours of the next opening: by email too when a mail channel exists, else in this
    chat only."""
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
    mode = "email" if settings.replies_by_email else "later"
    return Promise(mode, None, answer_by.astimezone(dt.UTC))


def format_time(moment: dt.datetime, lang: str, settings: Settings, now: dt.datetime) -> str:
    """ "tomorrow at 10:00 (Berlin time)", "Montag um 10:00 Uhr (Berliner Zeit)", "i dag kl.
    14.00 (dansk tid)": the day as the visitor counts it, in the business time zone, named."""
    zone = ZoneInfo(settings.business_timezone)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = say("clock", lang, hour=f"{local.hour:02d}", minute=f"{local.minute:02d}")
    days = (local.date() - today).days
    if days <= 0:
        day = say("today", lang)
    elif days == 1:
        day = say("tomorrow", lang)
    else:
        day = WEEKDAYS.get(lang, WEEKDAYS["en"])[local.weekday()]
        if days >= 7:  # the same weekday as today: say which one
            day = say("next_week", lang, day=day)
    moment_text = say("day_at", lang, day=day, clock=clock)
    return f"{moment_text} ({zone_name(settings.business_timezone, lang)})"


def promised_when(handoff: Handoff, lang: str, settings: Settings, now: dt.datetime) -> str:
    """When a person will answer, as words that fit "A person will reply here {when}": the
    minutes still left of a live promise, or the time an answer is due."""
    if handoff.mode == "live":
        waited = (now - handoff.created_at).total_seconds() / 60
        left = math.ceil((handoff.wait_minutes or 1) - waited)
        if left <= 0:
            return say("shortly", lang)
        return say("in_a_minute", lang) if left == 1 else say("in_minutes", lang, minutes=left)
    return say("by_time", lang, time=format_time(handoff.answer_by or now, lang, settings, now))


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
) -> Message:
    """Hand the chat to humans: say why and promise a time honestly, put the conversation in
    the queue, build the packet and queue its webhook, all in the caller's transaction.
    Returns the bot's handoff message (the caller publishes it, and the change of state,
    after commit)."""
    lang = conversation.lang
    promise = make_promise(
        now=now,
        settings=settings,
        agents_online=queries.agents_online(session=session, now=now),
        queue=queries.queue_length(session=session),
        recent_seconds=queries.recent_response_seconds(session=session),
    )
    email = conversation.contact_email
    if promise.mode == "email" and email is None:
        conversation.email_asked = True
    record = Handoff(
        id=new_id(),  # named in the handoff message: where the packet's case ends
        conversation_id=conversation.id,
        reason=reason,
        mode=promise.mode,
        wait_minutes=promise.wait_minutes,
        answer_by=promise.answer_by,
        created_at=now,
        # The zone the promise was made in: the widget's header shows the time in it.
        packet={"promise": {"time_zone": settings.business_timezone}},
    )
    session.add(record)
    move(conversation, Transition.HAND_OFF)
    public = HandoffPublic.of(record, conversation).model_dump(mode="json")
    text = _promise_text(record, reason=reason, lang=lang, email=email, settings=settings, now=now)
    message = queries.append_message(
        session=session,
        conversation=conversation,
        role="bot",
        kind="handoff",
        lang=lang,
        reply_to_id=reply_to.id if reply_to else None,
        text=text,
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
    packet["promise"]["time_zone"] = settings.business_timezone
    record.summary = packet["summary"]
    record.packet = packet
    enqueue_webhook(session=session, settings=settings, event="handoff.created", payload=packet)
    return message


def _promise_text(
    handoff: Handoff,
    *,
    reason: str,
    lang: str,
    email: str | None,
    settings: Settings,
    now: dt.datetime,
) -> str:
    """Why the bot hands off, then what happens next and when."""
    why = say(f"why_{reason}", lang)
    when = promised_when(handoff, lang, settings, now)
    if handoff.mode == "live":
        return f"{why} {say('handoff_live', lang, when=when)}"
    if handoff.mode == "email" and email:
        return f"{why} {say('handoff_email', lang, when=when, email=email)}"
    offline = say("handoff_offline", lang, when=when)
    offer = f" {say('email_offer', lang)}" if handoff.mode == "email" else ""
    return f"{why} {offline}{offer} {say('chat_stays', lang)}"


# -- while the team has the chat ---------------------------------------------------------------

Answer = Callable[[], Message | None]


def while_with_team(
    session: Session,
    conversation: Conversation,
    message: Message,
    *,
    settings: Settings,
    now: dt.datetime,
    answer: Answer,
) -> Message | None:
    """The bot's reply to a visitor whose chat is with the team, or None for no reply.

    The rule: once an agent has the chat, the bot is quiet; the agent is talking. While the
    chat waits in the queue, every message gets what it needs, but not a bot reply to every
    line:

    - the address the bot offered to take (email follow-up, none given yet): thanks, with
      the promise; something with an "@" that is not an address: how one looks;
    - asking for a person: "you're already in the queue", with the time still to wait;
    - small talk ("thanks", "bye"): its usual reply;
    - a question (a "?" or a question word first) that the knowledge base answers
      confidently (`answer` returns None when it cannot): the answer, and the chat stays in
      the queue; a statement ("it never arrived") is detail for the team, even when an
      article would match it;
    - anything else is more detail for the team: one acknowledgement that they have it,
      then no further reply until something else has been said to them, so five lines of
      detail get one "thanks, added" and not five.

    Nothing is ever lost: every line is in the transcript the agent reads.
    """
    if status_of(conversation) is not Status.WAITING:
        return None
    handoff = queries.open_handoff(session=session, conversation_id=conversation.id)
    if handoff is None:
        return None
    lang = conversation.lang
    if _wants_email(conversation, handoff):
        taken = take_email(session, conversation, message, handoff, settings=settings, now=now)
        if taken is not None:
            return taken
    intent = classify(message.text)
    if intent == "human":
        when = promised_when(handoff, lang, settings, now)
        return _bot_says(session, message, say("queue_person", lang, when=when))
    small_talk = intent not in (None, "empty")
    if small_talk or _QUESTION.search(message.text.strip()):
        answered = answer()
        if answered is not None:
            return answered
    if _acknowledged_since_last_reply(session, conversation, message):
        return None
    text = say("queue_ack", lang)
    if _wants_email(conversation, handoff):
        text += " " + say("email_offer", lang)
    return _bot_says(session, message, text, kind="ack")


_QUESTION = re.compile(
    r"\?|^(how|what|where|when|why|which|who|can|could|do|does|is|are|will|would|"
    r"wie|was|wo|wann|warum|welche\w*|kann|können|gibt|hvordan|hvad|hvor|hvornår|hvorfor|"
    r"hvilke\w*|kan|er)\b",
    re.IGNORECASE,
)


def _wants_email(conversation: Conversation, handoff: Handoff) -> bool:
    """The bot offered an email answer and has no address yet."""
    return handoff.mode == "email" and not conversation.contact_email


def _acknowledged_since_last_reply(
    session: Session, conversation: Conversation, message: Message
) -> bool:
    """Whether the last thing said to the visitor before `message` was already "thanks, the
    team has it"."""
    for earlier in reversed(
        queries.messages_after(session=session, conversation_id=conversation.id)
    ):
        if earlier.id == message.id or earlier.role in ("visitor", "note"):
            continue
        return earlier.kind == "ack"
    return False


def take_email(
    session: Session,
    conversation: Conversation,
    message: Message,
    handoff: Handoff,
    *,
    settings: Settings,
    now: dt.datetime,
) -> Message | None:
    """The address the bot asked for: thanks for a valid one (and the webhook's receiver
    learns it, when it is the one that writes the email), a hint for a mistyped one (text
    with an "@"). None when the message holds no address at all."""
    lang = conversation.lang
    email = find_email(message.text)
    if email is None:
        if "@" not in message.text:
            return None
        return _bot_says(session, message, say("email_invalid", lang))
    conversation.visitor_email = email
    if settings.webhook_replies_by_email:
        enqueue_webhook(
            session=session,
            settings=settings,
            event="handoff.email",
            payload={"conversation_id": conversation.id, "handoff_id": handoff.id, "email": email},
        )
    when = promised_when(handoff, lang, settings, now)
    return _bot_says(session, message, say("email_thanks", lang, email=email, when=when))


def _bot_says(session: Session, reply_to: Message, text: str, kind: str = "prompt") -> Message:
    conversation = reply_to.conversation
    return queries.append_message(
        session=session,
        conversation=conversation,
        role="bot",
        kind=kind,
        lang=conversation.lang,
        reply_to_id=reply_to.id,
        text=text,
    )
