"""The visitor's side of every conversation, end to end: start, each turn, thumbs, rating,
typing, and what the widget reads back (status, messages, catch-up). No HTTP here: the API,
the evaluation and the tests all call this.

A turn is one database transaction: the visitor's message and the bot's reply are stored
together or not at all, and a retry with the same `client_id` returns what was stored. Live
events go out only after the commit (`bot.live_events`); a change of state emits one status
event, whatever caused it.

Why one module of a little over 400 lines: it is the visitor's whole side, and every part of
it opens its own transaction around `bot.access.authorise`; the bot's reply
(`bot.replies`), the handoff (`bot.handoff`) and the events (`bot.live_events`) live apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import access, queries
from bot.answer import AnswerComposer
from bot.config import Settings
from bot.conversation_language import LanguageChoice, Reading, next_language
from bot.db import Database
from bot.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from bot.events import EventBus
from bot.handoff import hand_off, while_with_team
from bot.live_events import PendingEvents
from bot.models import Conversation, Message
from bot.phrases import say
from bot.policy import on_feedback
from bot.redact import redact
from bot.replies import BotReplies
from bot.schemas import (
    ConversationCreate,
    ConversationDetail,
    FeedbackCreate,
    MessageCreate,
    MessagePublic,
    MessagesPublic,
    VisitorIdentity,
    attributes_problem,
    conversation_public,
    conversation_status,
)
from bot.serving import IndexHolder
from bot.states import WITH_TEAM, Status, Transition, move, status_of

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Turn:
    message: Message | None
    reply: Message | None
    lang: str | None = None  # the conversation's language after the turn (the widget's words)


class ChatService:
    """What a visitor (through the widget or the API) can do and see."""

    def __init__(
        self,
        *,
        db: Database,
        index: IndexHolder,
        composer: AnswerComposer,
        bus: EventBus,
        settings: Settings,
        clock: Clock = system_clock,
        encode_ahead: Callable[[str], None] | None = None,
    ):
        self.db = db
        self.bus = bus
        self.settings = settings
        self.clock = clock
        # Encodes the question before the transaction (`bot.batching.QueryBatcher`).
        self.encode_ahead = encode_ahead
        self.replies = BotReplies(index=index, composer=composer, settings=settings, clock=clock)

    # -- conversations -------------------------------------------------------------------

    def start(self, body: ConversationCreate) -> tuple[Conversation, str, list[Message]]:
        """A new conversation with its bearer token (only the hash is stored) and greeting."""
        lang = self._language_of_locale(body.locale)
        visitor = body.visitor
        token = access.new_token()
        with self.db.session() as session:
            customer = None
            if visitor and visitor.external_id and self._verified(visitor):
                customer = queries.get_or_create_customer(
                    session=session,
                    external_id=visitor.external_id,
                    name=visitor.name,
                    email=visitor.email,
                )
            conversation = queries.create_conversation(
                session=session,
                token_hash=access.hash_token(token),
                lang=lang,
                locale=body.locale,
                page_url=body.page_url,
                visitor_name=visitor.name if visitor else None,
                visitor_email=visitor.email if visitor else None,
                claimed_external_id=visitor.external_id if visitor else None,
                customer=customer,
                attributes=dict(visitor.attributes) if visitor else {},
            )
            greeting = queries.append_message(
                session=session,
                conversation=conversation,
                role="bot",
                kind="greeting",
                lang=lang,
                text=say("greeting", lang),
            )
            session.refresh(conversation, ["assigned_agent"])
        return conversation, token, [greeting]

    def identify(self, conversation_id: str, token: str | None, visitor: VisitorIdentity) -> bool:
        """Say who the visitor is after the chat has started (they signed in on the site
        mid-chat), so the agent sees the customer and their earlier chats. True when the
        site's identity hash proved it.

        A conversation never changes hands: one already tied to another customer gets 409,
        and the widget starts a new conversation for the new person instead.
        """
        with self.db.session() as session:
            conversation = access.authorise(session, conversation_id, token, lock=True)
            known = conversation.customer.external_id if conversation.customer else None
            if known and visitor.external_id and visitor.external_id != known:
                raise Conflict("this conversation belongs to another customer; start a new one")
            verified = bool(visitor.external_id and self._verified(visitor))
            if verified and visitor.external_id and conversation.customer is None:
                conversation.customer = queries.get_or_create_customer(
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
            problem = attributes_problem(attributes)
            if problem:
                raise Unprocessable(f"attributes: {problem}, with the earlier ones")
            conversation.attributes = attributes
            return conversation.verified

    def _verified(self, visitor: VisitorIdentity) -> bool:
        return access.verify_identity(
            visitor.external_id or "", visitor.user_hash, self.settings.identity_secret
        )

    def _language_of_locale(self, locale: str | None) -> str:
        code = (locale or "").replace("_", "-").split("-")[0].lower()
        return code if code in self.settings.languages else self.settings.default_language

    # -- what the widget reads -----------------------------------------------------------

    def check_access(self, conversation_id: str, token: str | None) -> None:
        """Raise unless `token` opens this conversation (before a stream is opened)."""
        with self.db.reading() as session:
            access.authorise(session, conversation_id, token)

    def status(self, conversation_id: str, token: str | None) -> ConversationDetail:
        with self.db.reading() as session:
            conversation = access.authorise(session, conversation_id, token)
            return self._status(session, conversation)

    def messages(self, conversation_id: str, token: str | None, *, after: int) -> MessagesPublic:
        """Messages with a sequence number above `after` (0: all), oldest first."""
        with self.db.reading() as session:
            conversation = access.authorise(session, conversation_id, token)
            messages = queries.messages_after(
                session=session, conversation_id=conversation.id, after=after
            )
            public = conversation_public(conversation)
            return MessagesPublic(
                messages=[MessagePublic.of(m) for m in messages],
                status=public.status,
                agent=public.agent,
                lang=public.lang,
            )

    def catch_up(
        self, conversation_id: str, *, after: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """What a (re)connecting event stream missed after `after`, and the status now, as
        the JSON the stream sends. Access was checked when the stream opened."""
        with self.db.reading() as session:
            conversation = queries.get_conversation(
                session=session, conversation_id=conversation_id
            )
            if conversation is None:
                raise NotFound("conversation not found")
            messages = queries.messages_after(
                session=session, conversation_id=conversation_id, after=after
            )
            return (
                [MessagePublic.of(m).model_dump(mode="json") for m in messages],
                self._status(session, conversation).model_dump(mode="json"),
            )

    def _status(self, session: Session, conversation: Conversation) -> ConversationDetail:
        handoff = queries.open_handoff(session=session, conversation_id=conversation.id)
        return conversation_status(conversation, handoff)

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
        if self.settings.redact_transcripts:
            body = body.model_copy(update={"text": redact(body.text)})
        events = PendingEvents()
        if self.encode_ahead is not None and self._bot_will_search(conversation_id, token):
            self.encode_ahead(body.text)
        try:
            with self.db.session() as session:
                conversation = access.authorise(session, conversation_id, token, lock=True)
                if admit is not None:
                    admit()
                turn = self._turn(session, conversation, body, events)
        except IntegrityError:
            # A concurrent retry of the same client_id won the race: return what it stored.
            with self.db.session() as session:
                conversation = access.authorise(session, conversation_id, token)
                existing = self._existing(session, conversation, body.client_id)
                if existing is None:
                    raise
            return existing
        events.publish(self.bus)
        return turn

    def _bot_will_search(self, conversation_id: str, token: str | None) -> bool:
        """Whether to encode the question ahead of the turn's transaction: only for the
        conversation's own token (a stranger's request must not cost an encode; this raises
        the same 401/404 the turn would) and only while the bot has the chat."""
        with self.db.reading() as session:
            conversation = access.authorise(session, conversation_id, token)
            return status_of(conversation) not in WITH_TEAM

    def _existing(
        self, session: Session, conversation: Conversation, client_id: str
    ) -> Turn | None:
        message = queries.find_client_message(
            session=session, conversation_id=conversation.id, client_id=client_id
        )
        if message is None:
            return None
        reply = queries.reply_of(session=session, message_id=message.id)
        return Turn(message, reply, conversation.lang)

    def _turn(
        self,
        session: Session,
        conversation: Conversation,
        body: MessageCreate,
        events: PendingEvents,
    ) -> Turn:
        existing = self._existing(session, conversation, body.client_id)
        if existing is not None:
            if existing.message and existing.message.text != body.text:
                raise Conflict("client_id was already used for a different message")
            return existing
        before = status_of(conversation)
        if before is Status.CLOSED:
            # A new question after the agent resolved the chat starts fresh with the bot;
            # the old misses must not push it straight back to a human.
            move(conversation, Transition.REOPEN)
        lang_before = conversation.lang
        language = self._language_after(session, conversation, body)
        conversation.lang = language.lang
        message = queries.append_message(
            session=session,
            conversation=conversation,
            role="visitor",
            text=body.text,
            client_id=body.client_id,
            lang=language.lang,
            details={"language": language.details()},
        )
        events.message(message)
        email_before = conversation.contact_email
        reply: Message | None
        if status_of(conversation) in WITH_TEAM:
            reply = while_with_team(
                session,
                conversation,
                message,
                settings=self.settings,
                now=self.clock(),
                answer=lambda: self.replies.answer_if_sure(
                    session, conversation, message, article_id=body.article_id
                ),
            )
        else:
            reply = self.replies.reply(session, conversation, message, article_id=body.article_id)
        if reply is not None:
            events.message(reply)
        # A new address (its email field) or language (all its words) changes what the widget
        # shows as much as a new state.
        changed = conversation.contact_email != email_before or conversation.lang != lang_before
        self._status_changed(session, conversation, before, events, changed=changed)
        return Turn(message, reply, conversation.lang)

    def _language_after(
        self, session: Session, conversation: Conversation, body: MessageCreate
    ) -> LanguageChoice:
        """The conversation's language once the visitor wrote `body` (before it is stored). A
        quick reply's text is an article's title, not the visitor's words: it never moves it."""
        if body.article_id:
            return LanguageChoice(conversation.lang, "quick_reply", Reading(None, 0.0, 0))
        previous = queries.last_visitor_message(session=session, conversation_id=conversation.id)
        seen = ((previous.details or {}).get("language") or {}) if previous else {}
        serving = self.replies.index.current
        return next_language(
            body.text,
            current=conversation.lang,
            previous=seen.get("detected"),
            languages=self.settings.languages,
            names=serving.names if serving else frozenset(),
        )

    def _status_changed(
        self,
        session: Session,
        conversation: Conversation,
        before: Status,
        events: PendingEvents,
        *,
        changed: bool = False,
    ) -> None:
        if changed or status_of(conversation) is not before:
            handoff = queries.open_handoff(session=session, conversation_id=conversation.id)
            events.status(conversation, handoff)

    def request_handoff(self, conversation_id: str, token: str | None) -> Turn:
        """The visitor pressed "talk to a person"."""
        events = PendingEvents()
        with self.db.session() as session:
            conversation = access.authorise(session, conversation_id, token, lock=True)
            before = status_of(conversation)
            if before in WITH_TEAM:
                raise Conflict(f"the conversation is already with the team ({before.value})")
            if before is Status.CLOSED:
                move(conversation, Transition.REOPEN)
            reply = hand_off(
                session, conversation, "visitor_request", settings=self.settings, now=self.clock()
            )
            events.message(reply)
            self._status_changed(session, conversation, before, events)
        events.publish(self.bus)
        return Turn(None, reply, conversation.lang)

    # -- feedback ------------------------------------------------------------------------

    def feedback(self, conversation_id: str, token: str | None, body: FeedbackCreate) -> Turn:
        """Thumbs up/down on a bot message; the policy says when a thumbs-down hands off."""
        events = PendingEvents()
        reply = None
        with self.db.session() as session:
            conversation = access.authorise(session, conversation_id, token, lock=True)
            message = queries.get_message(
                session=session, conversation_id=conversation.id, message_id=body.message_id
            )
            if message is None or message.role != "bot":
                raise NotFound("no bot message with that id in this conversation")
            _, changed = queries.add_feedback(
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
            before = status_of(conversation)
            if changed and before is Status.BOT:
                decision = on_feedback(helpful=body.helpful, misses=conversation.misses)
                conversation.misses = decision.misses
                if decision.hand_off and decision.reason:
                    reply = hand_off(
                        session,
                        conversation,
                        decision.reason,
                        settings=self.settings,
                        now=self.clock(),
                    )
                    events.message(reply)
            self._status_changed(session, conversation, before, events)
        events.publish(self.bus)
        return Turn(None, reply)

    def rate(
        self, conversation_id: str, token: str | None, rating: int, comment: str | None
    ) -> None:
        with self.db.session() as session:
            conversation = access.authorise(session, conversation_id, token)
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
        self.check_access(conversation_id, token)
        if admit is not None:
            admit()
        events = PendingEvents()
        events.typing(conversation_id, role="visitor", typing=typing)
        events.publish(self.bus)
