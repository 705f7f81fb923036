"""One visitor turn end to end, and the conversation's states: bot → waiting (handed off) →
agent → closed. No HTTP here: the API, the evaluation and the tests all call this.

A turn is one database transaction: the visitor's message and the bot's reply are stored
together or not at all, and a retry with the same `client_id` returns what was stored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import handoff as handoffs
from bot import store
from bot.answer import AnswerComposer, Passage
from bot.config import Settings
from bot.db import Database
from bot.errors import Conflict, NotFound, PayloadTooLarge, Unauthorized, Unprocessable
from bot.events import CONSOLE_CHANNEL, Event, EventBus, conversation_channel
from bot.intents import classify, find_email
from bot.language import detect_language
from bot.models import Conversation, Handoff, Message, utcnow
from bot.phrases import language_name, say
from bot.policy import Decision, decide
from bot.retrieval import Retrieval, Retriever
from bot.schemas import (
    MAX_ATTRIBUTES,
    ConversationCreate,
    FeedbackCreate,
    HandoffPublic,
    MessageCreate,
    MessagePublic,
    VisitorIdentity,
    conversation_public,
)
from bot.serving import IndexHolder

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass
class Turn:
    message: Message | None
    reply: Message | None


@dataclass
class _Outbox:
    """Events to publish once the transaction has committed (never for a rolled-back turn)."""

    events: list[tuple[str, Event]] = field(default_factory=list)

    def message(self, message: Message) -> None:
        self.events.append(
            (
                conversation_channel(message.conversation_id),
                {
                    "event": "message",
                    "id": message.seq,
                    "data": MessagePublic.of(message).model_dump(mode="json"),
                },
            )
        )
        self.events.append(
            (
                CONSOLE_CHANNEL,
                {
                    "event": "conversation",
                    "data": {"id": message.conversation_id, "seq": message.seq},
                },
            )
        )

    def status(self, conversation: Conversation, handoff: Handoff | None) -> None:
        data = conversation_public(conversation)
        data["handoff"] = (
            HandoffPublic.of(handoff, _email_of(conversation)).model_dump(mode="json")
            if handoff
            else None
        )
        self.events.append(
            (conversation_channel(conversation.id), {"event": "status", "data": data})
        )
        self.events.append(
            (
                CONSOLE_CHANNEL,
                {"event": "queue", "data": {"id": conversation.id, "status": conversation.status}},
            )
        )


def _email_of(conversation: Conversation) -> str | None:
    if conversation.customer and conversation.customer.email:
        return conversation.customer.email
    return conversation.visitor_email


# The agent side (bot.desk) publishes the same events and needs the same address.
PendingEvents = _Outbox
email_of = _email_of


class ChatService:
    """The bot's side of every conversation."""

    def __init__(
        self,
        *,
        db: Database,
        index: IndexHolder,
        composer: AnswerComposer,
        bus: EventBus,
        settings: Settings,
        clock: Clock | None = None,
    ):
        self.db = db
        self.index = index
        self.composer = composer
        self.bus = bus
        self.settings = settings
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))

    # -- conversations -------------------------------------------------------------------

    def start(self, body: ConversationCreate) -> tuple[Conversation, str, list[Message]]:
        """A new conversation with its bearer token (only the hash is stored) and greeting."""
        lang = self._language_of_locale(body.locale)
        visitor = body.visitor
        token = store.new_token()
        with self.db.session() as session:
            customer = None
            if (
                visitor
                and visitor.external_id
                and store.verify_identity(
                    visitor.external_id, visitor.user_hash, self.settings.identity_secret
                )
            ):
                customer = store.get_or_create_customer(
                    session=session,
                    external_id=visitor.external_id,
                    name=visitor.name,
                    email=visitor.email,
                )
            conversation = store.create_conversation(
                session=session,
                token=token,
                lang=lang,
                locale=body.locale,
                page_url=body.page_url,
                visitor_name=visitor.name if visitor else None,
                visitor_email=visitor.email if visitor else None,
                claimed_external_id=visitor.external_id if visitor else None,
                customer=customer,
                attributes=dict(visitor.attributes) if visitor else {},
            )
            greeting = store.append_message(
                session=session,
                conversation=conversation,
                role="bot",
                kind="greeting",
                lang=lang,
                text=say("greeting", lang),
            )
            session.refresh(conversation, ["assigned_agent"])
        return conversation, token, [greeting]

    def authorise(
        self, session: Session, conversation_id: str, token: str | None, *, lock: bool = False
    ) -> Conversation:
        """The conversation, if `token` is its own. A valid token for another conversation
        gets 404 (it reveals nothing about this one); a token nobody has gets 401."""
        if not token:
            raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
        token_hash = store.hash_token(token)
        conversation = store.get_conversation(
            session=session, conversation_id=conversation_id, lock=lock
        )
        if conversation is not None and _same(token_hash, conversation.token_hash):
            return conversation
        if store.token_exists(session=session, token_hash=token_hash):
            raise NotFound("conversation not found")
        raise Unauthorized("invalid token")

    def identify(self, conversation_id: str, token: str | None, visitor: VisitorIdentity) -> bool:
        """Say who the visitor is after the chat has started (they signed in on the site
        mid-chat), so the agent sees the customer and their earlier chats. True when the
        site's identity hash proved it.

        A conversation never changes hands: one already tied to another customer gets 409,
        and the widget starts a new conversation for the new person instead.
        """
        with self.db.session() as session:
            conversation = self.authorise(session, conversation_id, token, lock=True)
            known = conversation.customer.external_id if conversation.customer else None
            if known and visitor.external_id and visitor.external_id != known:
                raise Conflict("this conversation belongs to another customer; start a new one")
            verified = bool(
                visitor.external_id
                and store.verify_identity(
                    visitor.external_id, visitor.user_hash, self.settings.identity_secret
                )
            )
            if verified and visitor.external_id and conversation.customer is None:
                conversation.customer = store.get_or_create_customer(
                    session=session,
                    external_id=visitor.external_id,
                    name=visitor.name,
                    email=visitor.email,
                )
                conversation.verified = True
            conversation.visitor_name = visitor.name or conversation.visitor_name
            conversation.visitor_email = visitor.email or conversation.visitor_email
            if not conversation.verified:
                conversation.claimed_external_id = (
                    visitor.external_id or conversation.claimed_external_id
                )
            attributes = {**conversation.attributes, **visitor.attributes}
            if len(attributes) > MAX_ATTRIBUTES:
                raise Unprocessable(
                    f"attributes: at most {MAX_ATTRIBUTES} per conversation "
                    f"({len(attributes)} with these)"
                )
            conversation.attributes = attributes
            return conversation.verified

    def _language_of_locale(self, locale: str | None) -> str:
        code = (locale or "").replace("_", "-").split("-")[0].lower()
        return code if code in self.settings.languages else self.settings.default_language

    # -- a visitor turn ------------------------------------------------------------------

    def visitor_message(
        self,
        conversation_id: str,
        token: str | None,
        body: MessageCreate,
        *,
        admit: Callable[[], None] | None = None,
    ) -> Turn:
        """One visitor turn. `admit` (the rate limit) runs once the token is known to be the
        visitor's, so a stranger's requests never use up the visitor's allowance."""
        if len(body.text) > self.settings.max_message_chars:
            raise PayloadTooLarge(
                f"text is {len(body.text)} characters; the limit is "
                f"{self.settings.max_message_chars}"
            )
        outbox = _Outbox()
        try:
            with self.db.session() as session:
                conversation = self.authorise(session, conversation_id, token, lock=True)
                if admit is not None:
                    admit()
                turn = self._turn(session, conversation, body, outbox)
        except IntegrityError:
            # A concurrent retry of the same client_id won the race: return what it stored.
            with self.db.session() as session:
                conversation = self.authorise(session, conversation_id, token)
                existing = self._existing(session, conversation, body.client_id)
                if existing is None:
                    raise
            return existing
        self._publish(outbox)
        return turn

    def _existing(
        self, session: Session, conversation: Conversation, client_id: str
    ) -> Turn | None:
        message = store.find_client_message(
            session=session, conversation_id=conversation.id, client_id=client_id
        )
        if message is None:
            return None
        return Turn(message, store.reply_of(session=session, message_id=message.id))

    def _turn(
        self, session: Session, conversation: Conversation, body: MessageCreate, outbox: _Outbox
    ) -> Turn:
        existing = self._existing(session, conversation, body.client_id)
        if existing is not None:
            if existing.message and existing.message.text != body.text:
                raise Conflict("client_id was already used for a different message")
            return existing
        if conversation.status == "closed":
            # A new question after the agent resolved the chat starts fresh with the bot;
            # the old misses must not push it straight back to a human.
            conversation.status = "bot"
            conversation.misses = 0
            conversation.assigned_agent_id = None
            outbox.status(conversation, None)
        message = store.append_message(
            session=session,
            conversation=conversation,
            role="visitor",
            text=body.text,
            client_id=body.client_id,
            lang=conversation.lang,
        )
        outbox.message(message)
        if conversation.status in ("waiting", "agent"):
            reply = self._while_waiting(session, conversation, message)
        else:
            reply = self._bot_reply(session, conversation, message, body.article_id)
        if reply is not None:
            outbox.message(reply)
            if reply.kind == "handoff":
                outbox.status(
                    conversation,
                    store.open_handoff(session=session, conversation_id=conversation.id),
                )
        return Turn(message, reply)

    def _while_waiting(
        self, session: Session, conversation: Conversation, message: Message
    ) -> Message | None:
        """Humans own the chat: store for the agent, reply only to take an email we asked for."""
        if not conversation.email_asked or _email_of(conversation):
            return None
        lang = conversation.lang
        email = find_email(message.text)
        handoff = store.open_handoff(session=session, conversation_id=conversation.id)
        if email is None:
            if "@" not in message.text:
                return None  # more detail for the agent, not a failed email address
            return _bot_says(session, message, "prompt", lang, say("email_invalid", lang))
        conversation.visitor_email = email
        when = handoff.answer_by if handoff and handoff.answer_by else self.clock()
        time = handoffs.format_time(when, lang, self.settings, self.clock())
        return _bot_says(
            session, message, "prompt", lang, say("email_thanks", lang, email=email, time=time)
        )

    def _bot_reply(
        self, session: Session, conversation: Conversation, message: Message, article_id: str | None
    ) -> Message:
        serving = self.index.current  # one version's retriever and policy for the whole turn
        intent = classify(message.text)
        if intent == "human":
            conversation.lang = self._detect(message.text, conversation.lang)
            return self.handoff(session, conversation, "visitor_request", reply_to=message)
        if intent is not None:
            lang = conversation.lang
            if intent not in ("empty", "ok"):
                lang = self._detect(message.text, conversation.lang)
            kind = "prompt" if intent == "empty" else "smalltalk"
            return _bot_says(session, message, kind, lang, say(intent, lang))
        if serving is None:
            return self.handoff(
                session,
                conversation,
                "no_index",
                reply_to=message,
                prefix=say("no_index", conversation.lang),
            )
        retriever = serving.retriever
        if article_id:
            picked = self._picked(session, conversation, message, retriever, article_id)
            if picked is not None:
                return picked
        retrieval = retriever.search(message.text, lang_hint=conversation.lang)
        conversation.lang = retrieval.lang
        policy = serving.policy  # tuned with this index version, built when it loaded
        decision = decide(
            retrieval.features,
            scores=[c.score for c in retrieval.candidates],
            misses=conversation.misses,
            policy=policy,
        )
        details = {
            "reason": decision.reason,
            "retrieval": _retrieval_details(retrieval),
            "decision": {"action": decision.action, "confidence": decision.confidence},
        }
        if decision.action == "handoff":
            return self.handoff(
                session,
                conversation,
                decision.reason,
                reply_to=message,
                confidence=decision.confidence,
                details=details,
            )
        if decision.action == "clarify":
            conversation.misses += 1
            return self._clarify(session, conversation, message, retrieval, decision, details)
        conversation.misses = 0
        return self._answer(session, conversation, message, retriever, retrieval, decision, details)

    def _detect(self, text: str, fallback: str) -> str:
        return detect_language(text, languages=self.settings.languages, fallback=fallback)

    def _answer(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        retriever: Retriever,
        retrieval: Retrieval,
        decision: Decision,
        details: dict[str, Any],
    ) -> Message:
        top = retrieval.candidates[0]
        passages = [Passage(top.article, top.best_chunk)]
        passages += [Passage(c.article, c.best_chunk) for c in retrieval.candidates[1:3]]
        composed = self.composer.compose(message.text, passages, top.article.lang)
        text = composed.text
        if not top.in_visitor_language:
            text += "\n\n" + say(
                "other_language",
                retrieval.lang,
                language=language_name(top.article.lang, retrieval.lang),
            )
        details["generated"] = composed.generated
        return store.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="answer",
            lang=top.article.lang,
            reply_to_id=message.id,
            text=text,
            confidence=round(decision.confidence, 4),
            sources=[_source(top.article, top.score)],
            details=details,
        )

    def _clarify(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        retrieval: Retrieval,
        decision: Decision,
        details: dict[str, Any],
    ) -> Message:
        options = retrieval.candidates[: decision.options]
        details["quick_replies"] = [
            {"article_id": c.article.id, "title": c.article.title} for c in options
        ]
        key = "clarify" if len(options) > 1 else "clarify_one"
        return store.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="clarify",
            lang=retrieval.lang,
            reply_to_id=message.id,
            text=say(key, retrieval.lang),
            confidence=round(decision.confidence, 4),
            sources=[_source(c.article, c.score) for c in options],
            details=details,
        )

    def _picked(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        retriever: Retriever,
        article_id: str,
    ) -> Message | None:
        """The visitor chose a quick reply: answer with exactly that article."""
        article = retriever.article_in(article_id, conversation.lang)
        if article is None:
            return None
        conversation.misses = 0
        query = retriever.embed_query(message.text)
        chunk = retriever.best_section(article.id, query)
        composed = self.composer.compose(message.text, [Passage(article, chunk)], article.lang)
        return store.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="answer",
            lang=article.lang,
            reply_to_id=message.id,
            text=composed.text,
            confidence=1.0,
            sources=[_source(article, 1.0)],
            details={
                "reason": "picked",
                "retrieval": {
                    "candidates": [{"article_id": article.id, "title": article.title, "score": 1.0}]
                },
            },
        )

    # -- handoff -------------------------------------------------------------------------

    def handoff(
        self,
        session: Session,
        conversation: Conversation,
        reason: str,
        *,
        reply_to: Message | None = None,
        confidence: float | None = None,
        details: dict[str, Any] | None = None,
        prefix: str = "",
    ) -> Message:
        """Hand the chat to humans: promise a time honestly, build the packet, tell the
        console and the webhook. Returns the bot's handoff message."""
        now = self.clock()
        lang = conversation.lang
        promise = handoffs.make_promise(
            now=now,
            settings=self.settings,
            agents_online=store.agents_online(session=session, now=now),
            queue=store.queue_length(session=session),
            recent_seconds=store.recent_response_seconds(session=session),
        )
        email = _email_of(conversation)
        ask_email = promise.mode == "email" and email is None
        if promise.mode == "live":
            text = say("handoff_live", lang, minutes=promise.wait_minutes)
        else:
            when = handoffs.format_time(promise.answer_by or now, lang, self.settings, now)
            text = (
                say("handoff_ask_email", lang, time=when)
                if ask_email
                else say("handoff_email", lang, email=email, time=when)
            )
        if ask_email:
            conversation.email_asked = True
        record = Handoff(
            conversation_id=conversation.id,
            reason=reason,
            mode=promise.mode,
            wait_minutes=promise.wait_minutes,
            answer_by=promise.answer_by,
            created_at=now,
        )
        session.add(record)
        conversation.status = "waiting"
        conversation.misses = 0
        public = HandoffPublic.of(record, email).model_dump(mode="json")
        message = store.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="handoff",
            lang=lang,
            reply_to_id=reply_to.id if reply_to else None,
            text=(prefix + "\n\n" + text) if prefix else text,
            confidence=confidence,
            details={**(details or {}), "reason": reason, "handoff": public},
        )
        session.flush()
        packet = handoffs.build_packet(
            session=session,
            conversation=conversation,
            handoff=record,
            base_url=self.settings.public_base_url,
        )
        record.summary = packet["summary"]
        record.packet = packet
        handoffs.enqueue_webhook(
            session=session, settings=self.settings, event="handoff.created", payload=packet
        )
        return message

    def request_handoff(self, conversation_id: str, token: str | None) -> Turn:
        """The visitor pressed "talk to a person"."""
        outbox = _Outbox()
        with self.db.session() as session:
            conversation = self.authorise(session, conversation_id, token, lock=True)
            if conversation.status in ("waiting", "agent"):
                raise Conflict(f"the conversation is already with the team ({conversation.status})")
            conversation.status = "bot"
            reply = self.handoff(session, conversation, "visitor_request")
            outbox.message(reply)
            outbox.status(
                conversation, store.open_handoff(session=session, conversation_id=conversation.id)
            )
        self._publish(outbox)
        return Turn(None, reply)

    # -- feedback ------------------------------------------------------------------------

    def feedback(self, conversation_id: str, token: str | None, body: FeedbackCreate) -> Turn:
        """Thumbs up/down on a bot message; the second miss in a row hands off."""
        outbox = _Outbox()
        reply = None
        with self.db.session() as session:
            conversation = self.authorise(session, conversation_id, token, lock=True)
            message = store.get_message(
                session=session, conversation_id=conversation.id, message_id=body.message_id
            )
            if message is None or message.role != "bot":
                raise NotFound("no bot message with that id in this conversation")
            _, changed = store.add_feedback(
                session=session,
                conversation_id=conversation.id,
                message=message,
                helpful=body.helpful,
                comment=body.comment,
            )
            message.details = {
                **(message.details or {}),
                "feedback": "helpful" if body.helpful else "not_helpful",
            }
            if changed and not body.helpful and conversation.status == "bot":
                conversation.misses += 1
                if conversation.misses >= 2:
                    reply = self.handoff(session, conversation, "negative_feedback")
                    outbox.message(reply)
                    outbox.status(
                        conversation,
                        store.open_handoff(session=session, conversation_id=conversation.id),
                    )
        self._publish(outbox)
        return Turn(None, reply)

    def rate(
        self, conversation_id: str, token: str | None, rating: int, comment: str | None
    ) -> None:
        with self.db.session() as session:
            conversation = self.authorise(session, conversation_id, token)
            resolved = any(h.resolved_at for h in conversation.handoffs)
            if not resolved:
                raise Conflict("a chat can be rated once an agent has resolved it")
            conversation.rating = rating
            conversation.rating_comment = comment

    def visitor_typing(
        self,
        conversation_id: str,
        token: str | None,
        typing: bool,
        *,
        admit: Callable[[], None] | None = None,
    ) -> None:
        with self.db.session() as session:
            conversation = self.authorise(session, conversation_id, token)
        if admit is not None:
            admit()
        self.bus.publish(
            CONSOLE_CHANNEL,
            {
                "event": "typing",
                "data": {"id": conversation.id, "role": "visitor", "typing": typing},
            },
        )
        self.bus.publish(
            f"console:{conversation.id}",
            {"event": "typing", "data": {"role": "visitor", "typing": typing}},
        )

    # -- events --------------------------------------------------------------------------

    def _publish(self, outbox: _Outbox) -> None:
        for channel, event in outbox.events:
            self.bus.publish(channel, event)


def _bot_says(session: Session, reply_to: Message, kind: str, lang: str, text: str) -> Message:
    """A reply in the bot's own words (no article, no confidence) to the visitor's message."""
    return store.append_message(
        session=session,
        conversation=reply_to.conversation,
        role="bot",
        kind=kind,
        lang=lang,
        reply_to_id=reply_to.id,
        text=text,
    )


def _source(article: Any, score: float) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "title": article.title,
        "url": article.url,
        "score": round(float(score), 4),
    }


def _retrieval_details(retrieval: Retrieval) -> dict[str, Any]:
    """What retrieval saw, kept with the reply: the console, the packet and insights use it."""
    return {
        "lang": retrieval.lang,
        "index_version": retrieval.index_version,
        "elapsed_ms": round(retrieval.elapsed_ms, 2),
        "features": {k: round(v, 4) for k, v in retrieval.features.items()},
        "candidates": [
            {
                "article_id": c.article.id,
                "title": c.article.title,
                "group": c.group,
                "score": round(c.score, 4),
                "dense": round(c.dense, 4),
                "lexical": round(c.lexical, 4),
            }
            for c in retrieval.candidates
        ],
    }


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


__all__ = ["ChatService", "PendingEvents", "Turn", "email_of", "utcnow"]
