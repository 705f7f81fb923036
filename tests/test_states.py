"""The conversation state machine: every allowed move, and a clear refusal for the rest."""

from __future__ import annotations

import pytest

from bot.models import Agent, Conversation
from bot.states import TRANSITIONS, InvalidTransition, Status, Transition, can, move

ALLOWED = {
    (Status.BOT, Transition.HAND_OFF): Status.WAITING,
    (Status.WAITING, Transition.CLAIM): Status.AGENT,
    (Status.AGENT, Transition.RELEASE): Status.WAITING,
    (Status.WAITING, Transition.HAND_BACK): Status.BOT,
    (Status.AGENT, Transition.HAND_BACK): Status.BOT,
    (Status.WAITING, Transition.RESOLVE): Status.CLOSED,
    (Status.AGENT, Transition.RESOLVE): Status.CLOSED,
    (Status.CLOSED, Transition.REOPEN): Status.BOT,
}
EVERY_MOVE = [(status, transition) for status in Status for transition in Transition]


def conversation(status: Status) -> Conversation:
    return Conversation(status=status.value, misses=1, assigned_agent=Agent(name="Old"))


@pytest.mark.parametrize(("start", "transition"), EVERY_MOVE)
def test_each_state_and_transition(start: Status, transition: Transition) -> None:
    chat = conversation(start)
    agent = Agent(name="Anna")
    expected = ALLOWED.get((start, transition))
    assert can(chat, transition) is (expected is not None)
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            move(chat, transition, agent=agent)
        assert refused.value.status == 409
        assert start.value in refused.value.message
        assert chat.status == start.value  # nothing changed
        return
    assert move(chat, transition, agent=agent) is expected
    assert chat.status == expected.value
    assert chat.misses == 0
    assert chat.assigned_agent is (agent if expected is Status.AGENT else None)


def test_the_table_is_the_list_above() -> None:
    table = {(s, t): target for t, (sources, target) in TRANSITIONS.items() for s in sources}
    assert table == ALLOWED


def test_a_claim_needs_the_agent() -> None:
    with pytest.raises(ValueError, match="agent"):
        move(conversation(Status.WAITING), Transition.CLAIM)
