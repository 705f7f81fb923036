"""The conversation's states and the only way to change them.

    bot ──hand_off──▶ waiting ──claim──▶ agent
     ▲                  ▲  ◀──release──  │
     │                  │                │
     ├────hand_back─────┴────────────────┤
     │                                   ▼
     └──────────reopen──────────── closed ◀──resolve── (waiting or agent)

Every module asks `move` to change a conversation's status instead of assigning a string, so
which changes are allowed is written down once, here, and what a state implies for the other
fields (who holds the chat, the bot's miss count) can't be forgotten by one caller.
"""

from __future__ import annotations

from enum import StrEnum

from bot.errors import Conflict
from bot.models import Agent, Conversation, utcnow


class Status(StrEnum):
    BOT = "bot"  # the bot answers
    WAITING = "waiting"  # handed off, in the team's queue
    AGENT = "agent"  # an agent has claimed it
    CLOSED = "closed"  # resolved; a new question reopens it with the bot


WITH_TEAM = frozenset({Status.WAITING, Status.AGENT})


class Transition(StrEnum):
    HAND_OFF = "hand_off"
    CLAIM = "claim"
    RELEASE = "release"
    HAND_BACK = "hand_back"
    RESOLVE = "resolve"
    REOPEN = "reopen"


TRANSITIONS: dict[Transition, tuple[frozenset[Status], Status]] = {
    Transition.HAND_OFF: (frozenset({Status.BOT}), Status.WAITING),
    Transition.CLAIM: (frozenset({Status.WAITING}), Status.AGENT),
    Transition.RELEASE: (frozenset({Status.AGENT}), Status.WAITING),
    Transition.HAND_BACK: (WITH_TEAM, Status.BOT),
    Transition.RESOLVE: (WITH_TEAM, Status.CLOSED),
    Transition.REOPEN: (frozenset({Status.CLOSED}), Status.BOT),
}


class InvalidTransition(Conflict):
    """A change of state that the table above does not allow (409)."""

    code = "invalid_transition"


def status_of(conversation: Conversation) -> Status:
    return Status(conversation.status)


def can(conversation: Conversation, transition: Transition) -> bool:
    return status_of(conversation) in TRANSITIONS[transition][0]


def move(
    conversation: Conversation, transition: Transition, *, agent: Agent | None = None
) -> Status:
    """Perform `transition` or raise `InvalidTransition`; returns the new status.

    Claiming needs the `agent` who takes the chat. Any other move leaves the chat with nobody
    in particular, and every move starts the bot's miss count afresh: a human has seen the
    chat, or the visitor starts over.
    """
    allowed, target = TRANSITIONS[transition]
    current = status_of(conversation)
    if current not in allowed:
        raise InvalidTransition(
            f"cannot {transition.value.replace('_', ' ')} a conversation that is "
            f"{current.value!r} (only from {', '.join(sorted(s.value for s in allowed))})"
        )
    if transition is Transition.CLAIM and agent is None:
        raise ValueError("claiming a conversation needs the agent who claims it")
    conversation.status = target.value
    conversation.assigned_agent = agent if target is Status.AGENT else None
    conversation.misses = 0
    # Stamped now, not at flush: the status event built in this transaction carries it, so the
    # widget can tell it from a status read before the move (`updated_at` in bot.schemas).
    conversation.updated_at = utcnow()
    return target
