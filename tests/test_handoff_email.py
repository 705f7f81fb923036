"""Email only where it must be: the bot asks for an address once, and only when nobody is
online; a verified customer is never asked; and an agent's later reply to such a chat lands in
the conversation and in the visitor's inbox (through the outbox, to a local SMTP sink)."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from bot.config import Settings
from bot.context import AppContext
from bot.models import Conversation, Delivery
from bot.phrases import say
from tests.conftest import Visitor, free_port, make_settings
from tests.console_helpers import ConsoleAgent, make_agent, user_hash

OFFER = say("email_offer", "en")


class Sink:
    """An SMTP server that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.envelopes


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def settings(
    tmp_path: Path, sample_index: Path, database_url: str, smtp_sink: tuple[Sink, int]
) -> Settings:
    return make_settings(
        tmp_path,
        index_dir=sample_index,
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink[1],
        delivery_poll_seconds=0.05,
        delivery_backoff_seconds=0.1,
    )


def _texts(visitor: Visitor) -> list[str]:
    return [m["text"] for m in visitor.messages()["messages"]]


def test_email_asked_once_validated_and_never_again(
    client: TestClient, context: AppContext
) -> None:
    visitor = Visitor(client)
    reply = visitor.say("talk to a human")["reply"]
    assert reply["handoff"]["mode"] == "email"  # nobody is online
    assert OFFER in reply["text"]

    assert visitor.say("it is about order 1234")["reply"]["kind"] == "ack"  # not an address
    invalid = visitor.say("jana@")["reply"]
    assert invalid["text"] == say("email_invalid", "en")
    thanks = visitor.say("sure: jana@example.com")["reply"]
    assert thanks["text"].startswith("Thank you! We'll answer by ")
    assert "by email to jana@example.com" in thanks["text"]
    assert visitor.say("other@example.com")["reply"]["kind"] == "ack"  # taken once only
    assert visitor.say("anything else?")["reply"] is None  # acknowledged already

    # Handed off again later (still nobody online): the address is known, so no question.
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    anna.claim(visitor.id)
    anna.resolve(visitor.id)
    anna.post("/console/logout")
    again = visitor.say("talk to a human")["reply"]
    assert again["handoff"] == {
        **again["handoff"],
        "mode": "email",
        "email": "jana@example.com",
    }
    assert "jana@example.com" in again["text"]
    handoffs = [m for m in visitor.messages()["messages"] if m["kind"] == "handoff"]
    assert [OFFER in m["text"] for m in handoffs] == [True, False]
    with context.db.session() as session:
        conversation = session.get(Conversation, visitor.id)
        assert conversation is not None
        assert conversation.visitor_email == "jana@example.com"


def test_no_email_question_when_someone_is_online(client: TestClient, context: AppContext) -> None:
    make_agent(context, "anna@example.com", "Anna")
    ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client)
    reply = visitor.say("talk to a human")["reply"]
    assert reply["handoff"]["mode"] == "live"
    assert reply["text"].endswith(say("handoff_live", "en", when="in about 2 minutes"))
    assert reply["handoff"]["wait_minutes"] == 2  # the default response time, one agent
    assert visitor.say("my mail is jana@example.com")["reply"]["kind"] == "ack"
    with context.db.session() as session:
        conversation = session.get(Conversation, visitor.id)
        assert conversation is not None and not conversation.email_asked


def test_verified_customer_is_never_asked_for_their_email(
    client: TestClient, context: AppContext
) -> None:
    visitor = Visitor(
        client,
        visitor={
            "name": "Jana",
            "email": "jana@example.com",
            "external_id": "cust-7",
            "user_hash": user_hash(context, "cust-7"),
        },
    )
    reply = visitor.say("talk to a human")["reply"]
    assert reply["handoff"]["mode"] == "email"
    assert reply["handoff"]["email"] == "jana@example.com"
    assert OFFER not in reply["text"]
    assert "jana@example.com" in reply["text"]
    visitor.say("thanks, jana2@example.com is better")
    with context.db.session() as session:
        conversation = session.get(Conversation, visitor.id)
        assert conversation is not None and conversation.contact_email == "jana@example.com"


def test_agent_reply_to_an_email_handoff_is_also_emailed(
    client: TestClient, context: AppContext, smtp_sink: tuple[Sink, int]
) -> None:
    sink, _ = smtp_sink
    visitor = Visitor(client, page_url="https://shop.example/orders")
    visitor.say(_unanswerable := "Who won the football world cup in 1954?")
    visitor.say("jana@example.com")
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()  # logs in after the handoff
    page = anna.page(visitor.id)
    assert "your reply is also emailed to jana@example.com" not in page.text  # not claimed yet
    anna.claim(visitor.id)
    assert "also emailed to jana@example.com" in anna.page(visitor.id).text
    anna.reply(visitor.id, "Germany won it.\nIn Bern, against Hungary.")

    assert _texts(visitor)[-1] == "Germany won it.\nIn Bern, against Hungary."
    [envelope] = sink.wait(1)
    assert envelope.rcpt_tos == ["jana@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["To"] == "jana@example.com"
    assert message["From"] == context.settings.smtp_sender
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "> Germany won it." in body
    assert "> In Bern, against Hungary." in body
    assert "Anna" in body
    assert "https://shop.example/orders" in body
    # The sink has the mail before the worker records the delivery: wait for the record.
    deadline = time.monotonic() + 10
    while True:
        with context.db.session() as session:
            [item] = session.query(Delivery).filter_by(kind="email").all()
        if item.delivered_at is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert item.delivered_at is not None
    assert item.attempts == 1
    assert _unanswerable in str(visitor.messages())


def test_live_handoff_reply_is_not_emailed(
    client: TestClient, context: AppContext, smtp_sink: tuple[Sink, int]
) -> None:
    sink, _ = smtp_sink
    make_agent(context, "anna@example.com", "Anna")
    anna = ConsoleAgent(client, "anna@example.com").login()
    visitor = Visitor(client, visitor={"email": "jana@example.com"})
    visitor.say("talk to a human")
    anna.claim(visitor.id)
    anna.reply(visitor.id, "Hi!")
    with context.db.session() as session:
        assert session.query(Delivery).filter_by(kind="email").count() == 0
    assert sink.envelopes == []


def test_returning_customer_address_is_the_same_in_every_status_read(
    client: TestClient, context: AppContext
) -> None:
    """A verified customer known from an earlier chat, who gives no address this time: the
    API's status, the live status event and the reply all carry the address we write to."""
    identity = {"external_id": "cust-8", "user_hash": user_hash(context, "cust-8")}
    Visitor(client, visitor={**identity, "name": "Jana", "email": "jana@example.com"})
    returning = Visitor(client, visitor=identity)
    reply = returning.say("talk to a human")["reply"]
    assert reply["handoff"] == {**reply["handoff"], "mode": "email", "email": "jana@example.com"}
    status = client.get(f"/api/v1/conversations/{returning.id}", headers=returning.headers)
    assert status.status_code == 200, status.text
    assert status.json()["handoff"]["email"] == "jana@example.com"
