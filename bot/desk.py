"""The agent's side of a handed-off chat: claim, reply, note, typing, hand back, resolve.

Like `ChatService`, no HTTP here. Each action is one transaction on a locked conversation;
live events go out only after it committed. One agent owns a chat at a time: the claim is a
conditional UPDATE, so two agents clicking at once cannot both win.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot import queries
from bot.agents import Login
from bot.config import Settings
from bot.db import Database
from bot.deliveries import enqueue_email
from bot.emails import agent_reply_email
from bot.errors import BadRequest, Conflict, NotFound
from bot.events import EventBus
from bot.handoff import enqueue_webhook
from bot.live_events import PendingEvents
from bot.models import Agent, Conversation, Handoff, Message
from bot.phrases import say
from bot.schemas import clean_text
from bot.states import WITH_TEAM, Transition, move, status_of

MAX_REPLY_CHARS = 10_000


class AgentDesk:
    """What a signed-in agent can do to a conversation."""

    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        settings: Settings,
        clock: Callable[[], dt.datetime],
    ):
        self.db = db
        self.bus = bus
        self.settings = settings
        self.clock = clock

    def claim(self, login: Login, conversation_id: str) -> None:
        """Take the chat. Claiming again one's own chat is a no-op; anyone else gets 409."""
        events = PendingEvents()
        with self.db.session() as session:
            conversation, handoff = self._open(session, conversation_id)
            if handoff.claimed_by_id == login.agent_id:
                return
            if handoff.claimed_by_id is not None:
                raise Conflict(
                    f"{self._name(session, handoff.claimed_by_id)} has already "
                    "claimed this chat. Only one agent can answer it."
                )
            now = self.clock()
            won = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.claimed_by_id.is_(None))
                .values(claimed_by_id=login.agent_id, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(won, "rowcount", 0) != 1:
                raise Conflict("Another agent claimed this chat a moment ago.")
            session.refresh(handoff)
            agent = self._agent(session, login)
            self._hand_to(session, conversation, handoff, agent, events)
        events.publish(self.bus)

    def reply(self, login: Login, conversation_id: str, text: str) -> Message:
        """Answer the visitor in the same chat window; by email too if the chat was handed
        off while nobody was online. The first reply stops the response-time clock."""
        text = self._text(text)
        events = PendingEvents()
        with self.db.session() as session:
            conversation, handoff = self._open(session, conversation_id)
            self._require_owner(session, handoff, login, "reply")
            agent = self._agent(session, login)
            message = queries.append_message(
                session=session,
                conversation=conversation,
                role="agent",
                kind="text",
                text=text,
                lang=conversation.lang,
                agent=agent,
            )
            if handoff.first_reply_at is None:
                handoff.first_reply_at = self.clock()
            address = conversation.contact_email
            if handoff.mode == "email" and address:
                subject, body = agent_reply_email(
                    lang=conversation.lang,
                    agent_name=agent.name,
                    text=text,
                    page_url=conversation.page_url,
                )
                enqueue_email(
                    session=session,
                    settings=self.settings,
                    to=address,
                    subject=subject,
                    text=body,
                    conversation_id=conversation.id,
                )
            events.message(message)
        events.publish(self.bus)
        return message

    def note(self, login: Login, conversation_id: str, text: str) -> Message:
        """An internal note: any agent may add one; the visitor never sees it."""
        text = self._text(text)
        events = PendingEvents()
        with self.db.session() as session:
            conversation = self._conversation(session, conversation_id)
            message = queries.append_message(
                session=session,
                conversation=conversation,
                role="note",
                kind="text",
                text=text,
                lang=conversation.lang,
                agent=self._agent(session, login),
            )
            events.console_message(message)  # never the visitor's channel
        events.publish(self.bus)
        return message

    def typing(self, login: Login, conversation_id: str, typing: bool) -> None:
        """Show (or hide) "typing…" in the visitor's widget."""
        with self.db.session() as session:
            _, handoff = self._open(session, conversation_id)
            self._require_owner(session, handoff, login, "type in")
        events = PendingEvents()
        events.typing(conversation_id, role="agent", typing=typing)
        events.publish(self.bus)

    def release(self, login: Login, conversation_id: str) -> None:
        """Put a claimed chat back in the queue for a colleague: the agent who has it (end of
        shift), or a lead when that agent is away and the visitor is left waiting."""
        events = PendingEvents()
        with self.db.session() as session:
            conversation, handoff = self._open(session, conversation_id)
            if handoff.claimed_by_id is None:
                raise Conflict("Nobody has claimed this chat; it is in the queue already.")
            if handoff.claimed_by_id != login.agent_id and login.role != "lead":
                raise Conflict(
                    f"{self._name(session, handoff.claimed_by_id)} has claimed this chat; "
                    "only they or a lead can put it back in the queue."
                )
            holder = session.get(Agent, handoff.claimed_by_id) or self._agent(session, login)
            handoff.claimed_by_id = None
            handoff.claimed_at = None
            self._hand_to(session, conversation, handoff, None, events, leaving=holder)
        events.publish(self.bus)

    def hand_back(self, login: Login, conversation_id: str) -> None:
        """Give the chat back to the bot; this handoff ends here."""
        self._finish(login, conversation_id, Transition.HAND_BACK, phrase="back_to_bot")

    def resolve(self, login: Login, conversation_id: str) -> None:
        """Close the chat; a later question from the visitor goes to the bot again."""
        self._finish(login, conversation_id, Transition.RESOLVE, phrase="resolved")

    # -- helpers ---------------------------------------------------------------------------

    def _finish(
        self, login: Login, conversation_id: str, transition: Transition, *, phrase: str
    ) -> None:
        events = PendingEvents()
        with self.db.session() as session:
            conversation, handoff = self._open(session, conversation_id)
            if handoff.claimed_by_id is not None:  # an unclaimed chat may be closed by anyone
                self._require_owner(session, handoff, login, "close")
            agent = self._agent(session, login)
            now = self.clock()
            handoff.resolved_at = now
            move(conversation, transition)
            message = self._system(session, conversation, phrase, agent)
            enqueue_webhook(
                session=session,
                settings=self.settings,
                event="handoff.resolved"
                if transition is Transition.RESOLVE
                else "handoff.returned",
                payload={
                    "conversation_id": conversation.id,
                    "handoff_id": handoff.id,
                    "agent": {"name": agent.name, "email": agent.email},
                    "resolved_at": now.isoformat(),
                    "first_reply_seconds": (
                        (handoff.first_reply_at - handoff.created_at).total_seconds()
                        if handoff.first_reply_at
                        else None
                    ),
                },
            )
            events.message(message)
            events.status(conversation, None)
        events.publish(self.bus)

    def _hand_to(
        self,
        session: Session,
        conversation: Conversation,
        handoff: Handoff,
        agent: Agent | None,
        events: PendingEvents,
        *,
        leaving: Agent | None = None,
    ) -> None:
        """The chat is with `agent` now, or waiting in the queue again when None (`leaving`
        left it); the visitor reads which in their widget, the console sees the new state."""
        if agent is not None:
            move(conversation, Transition.CLAIM, agent=agent)
        else:
            move(conversation, Transition.RELEASE)
        if agent is not None:
            events.message(self._system(session, conversation, "agent_joined", agent))
        elif leaving is not None:
            events.message(self._system(session, conversation, "agent_left", leaving))
        events.status(conversation, handoff)

    def _conversation(self, session: Session, conversation_id: str) -> Conversation:
        conversation = queries.get_conversation(
            session=session, conversation_id=conversation_id, lock=True
        )
        if conversation is None:
            raise NotFound("There is no conversation with this id.")
        return conversation

    def _open(self, session: Session, conversation_id: str) -> tuple[Conversation, Handoff]:
        """The conversation and its open handoff; 409 if it is not with the team."""
        conversation = self._conversation(session, conversation_id)
        handoff = queries.open_handoff(session=session, conversation_id=conversation.id)
        if handoff is None or status_of(conversation) not in WITH_TEAM:
            raise Conflict(
                f"This chat is not waiting for a person (it is {conversation.status!r} now)."
            )
        return conversation, handoff

    def _require_owner(self, session: Session, handoff: Handoff, login: Login, what: str) -> None:
        if handoff.claimed_by_id == login.agent_id:
            return
        if handoff.claimed_by_id is None:
            raise Conflict(f"Claim this chat before you {what} it.")
        raise Conflict(
            f"{self._name(session, handoff.claimed_by_id)} has claimed this chat; "
            f"only they can {what} it."
        )

    def _agent(self, session: Session, login: Login) -> Agent:
        agent = session.get(Agent, login.agent_id)
        if agent is None:
            raise NotFound("Your agent account no longer exists.")
        return agent

    def _name(self, session: Session, agent_id: str) -> str:
        agent = session.get(Agent, agent_id)
        return agent.name if agent else "Another agent"

    def _system(
        self, session: Session, conversation: Conversation, phrase: str, agent: Agent
    ) -> Message:
        return queries.append_message(
            session=session,
            conversation=conversation,
            role="system",
            kind="status",
            lang=conversation.lang,
            text=say(phrase, conversation.lang, name=agent.name),
            details={"agent_id": agent.id},
        )

    def _text(self, text: str) -> str:
        text = clean_text(text or "")
        if not text:
            raise BadRequest("The message is empty.")
        if len(text) > MAX_REPLY_CHARS:
            raise BadRequest(f"The message is longer than {MAX_REPLY_CHARS} characters.")
        return text
