"""Live events that a change causes, held until its transaction has committed.

The visitor side (`bot.conversation`) and the agent side (`bot.desk`) collect what the widget
and the console should hear while they work; `publish` sends it once the database has the
change, so nobody is ever told about a turn that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.events import CONSOLE_CHANNEL, Event, EventBus, conversation_channel
from bot.models import Conversation, Handoff, Message
from bot.schemas import MessagePublic, conversation_status


@dataclass
class PendingEvents:
    events: list[tuple[str, Event]] = field(default_factory=list)

    def message(self, message: Message) -> None:
        """A new line in the chat: the visitor's widget shows it, the console refreshes."""
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
        self.console_message(message)

    def console_message(self, message: Message) -> None:
        """A line only the console sees (an internal note)."""
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
        """The conversation changed hands: the widget's header and the console's queue."""
        data = conversation_status(conversation, handoff).model_dump(mode="json")
        self.events.append(
            (conversation_channel(conversation.id), {"event": "status", "data": data})
        )
        self.events.append(
            (
                CONSOLE_CHANNEL,
                {"event": "queue", "data": {"id": conversation.id, "status": conversation.status}},
            )
        )

    def typing(self, conversation_id: str, *, role: str, typing: bool) -> None:
        """The agent types (to the visitor's widget) or the visitor types (to the console)."""
        if role == "agent":
            channel, data = conversation_channel(conversation_id), {"role": role}
        else:
            channel, data = CONSOLE_CHANNEL, {"id": conversation_id, "role": role}
        self.events.append((channel, {"event": "typing", "data": {**data, "typing": typing}}))

    def publish(self, bus: EventBus) -> None:
        for channel, event in self.events:
            bus.publish(channel, event)
        self.events.clear()
