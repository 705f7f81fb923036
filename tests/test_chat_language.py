"""The conversation's language, and the honest promise of a handoff: live when someone is
online; otherwise an answer here in the chat, and by email only where a mail channel exists,
asking for the address once and only when we do not have it."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.agents import create_agent
from bot.app import create_app
from bot.context import AppContext
from bot.phrases import PHRASES
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, free_port, make_settings

CLOSED = "Mon 00:00-00:01"  # a minute a week: closed whenever the tests run
ASK_FOR_A_PERSON = {"en": "talk to a human", "de": "Mitarbeiter bitte", "da": "menneske"}


def opening(key: str, lang: str) -> str:
    """The fixed start of a phrase (up to its first placeholder)."""
    return PHRASES[lang][key].split("{")[0]


def user_hash(secret: str, external_id: str) -> str:
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def put_agent_online(context: AppContext) -> None:
    with context.db.session() as session:
        agent = create_agent(session=session, email="anna@example.com", name="Anna",
                             password="a-long-password")
        agent.presence = "online"
        agent.last_seen_at = dt.datetime.now(dt.UTC)


def handoff(visitor: Visitor) -> Any:
    reply = visitor.say("talk to a human")["reply"]
    assert reply["kind"] == "handoff"
    return reply


# -- the bot's words follow the conversation --------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "thanks"), [("en", "thanks"), ("de", "danke schön"), ("da", "mange tak")]
)
def test_own_words_in_the_conversations_language(client: TestClient, lang: str,
                                                  thanks: str) -> None:
    visitor = Visitor(client, locale=lang)

    assert visitor.created["messages"][0]["text"] == PHRASES[lang]["greeting"]
    assert visitor.say("???")["reply"]["text"] == PHRASES[lang]["empty"]
    assert visitor.say(thanks)["reply"]["text"] == PHRASES[lang]["thanks"]
    reply = visitor.say(ASK_FOR_A_PERSON[lang])["reply"]
    assert (reply["kind"], reply["lang"]) == ("handoff", lang)
    assert reply["text"].startswith(PHRASES[lang]["why_visitor_request"])
    assert reply["text"].endswith(PHRASES[lang]["chat_stays"])  # no mail channel: no email


@pytest.mark.parametrize(
    ("question", "lang", "article"),
    [
        ("where is my parcel", "en", "en/order-tracking"),
        ("wo ist mein paket", "de", "de/order-tracking"),
        ("hvor er min pakke", "da", "da/order-tracking"),
        ("Wie lange habe ich Zeit für eine Rücksendung?", "de", "de/returns"),
    ],
)
def test_answers_use_the_article_in_the_visitors_language(
    client: TestClient, question: str, lang: str, article: str
) -> None:
    visitor = Visitor(client, locale="en")

    reply = visitor.say(question)["reply"]

    assert (reply["kind"], reply["lang"]) == ("answer", lang)
    assert reply["sources"][0]["article_id"] == article


def test_the_conversation_follows_the_visitor_into_german(client: TestClient) -> None:
    visitor = Visitor(client, locale="en")

    assert visitor.say("wo ist mein paket")["reply"]["lang"] == "de"

    assert visitor.say("???")["reply"]["text"] == PHRASES["de"]["empty"]
    data = client.get(f"/api/v1/conversations/{visitor.id}", headers=visitor.headers).json()
    assert data["lang"] == "de"


def test_a_clarification_speaks_the_visitors_language(client: TestClient) -> None:
    visitor = Visitor(client, locale="en")

    reply = visitor.say("hab keine bestellbestätigung bekommen")["reply"]

    assert (reply["kind"], reply["lang"]) == ("clarify", "de")
    assert reply["text"] in (PHRASES["de"]["clarify"], PHRASES["de"]["clarify_one"])
    assert all(q["article_id"].startswith("de/") for q in reply["quick_replies"])


# -- the handoff promise and the email address ------------------------------------------------


@pytest.fixture
def client_with(tmp_path: Path, sample_index: Path, database_url: str
                ) -> Iterator[Callable[..., tuple[TestClient, AppContext]]]:
    """A client on settings of the test's choosing (business hours, ...)."""
    with contextlib.ExitStack() as stack:
        def make(**overrides: Any) -> tuple[TestClient, AppContext]:
            settings = make_settings(tmp_path, index_dir=sample_index,
                                     database_url=database_url, **overrides)
            context = AppContext.build(settings, embedder=HashEmbedder(64))
            return stack.enter_context(TestClient(create_app(context=context))), context

        yield make


@pytest.fixture
def mail_client(client_with: Callable[..., tuple[TestClient, AppContext]]) -> TestClient:
    """A server with a mail channel (an SMTP relay; nothing is sent in these tests)."""
    return client_with(smtp_host="127.0.0.1", smtp_port=free_port())[0]


def test_without_a_mail_channel_the_team_answers_in_the_chat(client: TestClient) -> None:
    visitor = Visitor(client, locale="en")

    reply = handoff(visitor)
    assert reply["handoff"]["mode"] == "later"
    assert reply["handoff"]["answer_by"] is not None
    assert reply["handoff"]["ask_email"] is False
    assert opening("handoff_offline", "en") in reply["text"]
    assert "email" not in reply["text"]

    ack = visitor.say("my order number is 4711")["reply"]
    assert (ack["kind"], ack["text"]) == ("ack", PHRASES["en"]["queue_ack"])
    assert visitor.say("it's jana@example.com")["reply"] is None  # acknowledged once already
    texts = [m["text"] for m in visitor.messages()["messages"]]
    assert not any("jana@example.com" in text for text in texts if text != "it's jana@example.com")


def test_nobody_online_asks_for_the_email_once(mail_client: TestClient) -> None:
    visitor = Visitor(mail_client, locale="en")

    reply = handoff(visitor)
    assert reply["handoff"]["mode"] == "email"
    assert reply["handoff"]["ask_email"] is True
    assert PHRASES["en"]["email_offer"] in reply["text"]

    detail = visitor.say("my order number is 4711")["reply"]  # detail for the agent
    assert detail["kind"] == "ack"
    assert PHRASES["en"]["email_offer"] in detail["text"]  # the field is still there
    invalid = visitor.say("jana@")["reply"]
    assert (invalid["kind"], invalid["text"]) == ("prompt", PHRASES["en"]["email_invalid"])
    thanks = visitor.say("it's jana@example.com")["reply"]
    assert thanks["kind"] == "prompt"
    assert thanks["text"].startswith("Thank you! We'll answer by ")
    assert "by email to jana@example.com" in thanks["text"]
    again = visitor.say("other@example.com instead?")["reply"]  # asked once only
    assert again["kind"] == "ack"

    data = mail_client.get(f"/api/v1/conversations/{visitor.id}", headers=visitor.headers).json()
    assert (data["handoff"]["mode"], data["handoff"]["email"]) == ("email", "jana@example.com")
    assert data["handoff"]["ask_email"] is False


def test_the_email_prompt_in_german(mail_client: TestClient) -> None:
    visitor = Visitor(mail_client, locale="de")
    assert PHRASES["de"]["email_offer"] in visitor.say("Mitarbeiter bitte")["reply"]["text"]

    reply = visitor.say("jana@example.de")["reply"]

    assert reply["text"].startswith("Vielen Dank! Wir antworten bis ")
    assert "per E-Mail an jana@example.de" in reply["text"]


def test_closed_hours_mean_no_live_promise_even_with_someone_online(
    client_with: Callable[..., tuple[TestClient, AppContext]],
) -> None:
    client, context = client_with(business_hours=CLOSED)
    put_agent_online(context)

    reply = handoff(Visitor(client))

    assert reply["handoff"]["mode"] == "later"
    assert opening("handoff_offline", "en") in reply["text"]


def test_someone_online_in_hours_is_live_and_asks_nothing(
    client_with: Callable[..., tuple[TestClient, AppContext]],
) -> None:
    client, context = client_with(smtp_host="127.0.0.1")
    put_agent_online(context)
    visitor = Visitor(client)

    reply = handoff(visitor)

    assert reply["handoff"]["mode"] == "live"
    assert reply["handoff"]["wait_minutes"] >= 1
    minutes = reply["handoff"]["wait_minutes"]
    when = "in about a minute" if minutes == 1 else f"in about {minutes} minutes"
    assert reply["text"] == (
        PHRASES["en"]["why_visitor_request"] + " " + PHRASES["en"]["handoff_live"].format(when=when)
    )
    assert visitor.say("jana@example.com")["reply"]["kind"] == "ack"  # detail, not an address


def test_a_visitor_who_gave_an_email_is_not_asked(mail_client: TestClient) -> None:
    visitor = Visitor(mail_client, visitor={"name": "Jana", "email": "jana@example.com"})

    reply = handoff(visitor)

    assert "by email to jana@example.com" in reply["text"]
    assert PHRASES["en"]["email_offer"] not in reply["text"]
    assert reply["handoff"]["email"] == "jana@example.com"
    assert visitor.say("jana@example.org")["reply"]["kind"] == "ack"


def test_a_verified_customer_with_an_email_is_not_asked(mail_client: TestClient) -> None:
    client = mail_client
    secret = "dev-secret-change-me"
    identity = {"external_id": "cust-1042", "email": "jana@example.com",
                "user_hash": user_hash(secret, "cust-1042")}
    Visitor(client, visitor=identity)

    # A later chat of the same verified customer, this time without the address.
    later = Visitor(client, visitor={"external_id": "cust-1042",
                                     "user_hash": user_hash(secret, "cust-1042")})
    reply = handoff(later)

    assert "by email to jana@example.com" in reply["text"]
    assert later.say("what about my other order?")["reply"]["kind"] == "ack"


def test_an_unverified_claim_is_not_trusted(mail_client: TestClient) -> None:
    secret = "dev-secret-change-me"
    Visitor(mail_client, visitor={"external_id": "cust-1042", "email": "jana@example.com",
                                  "user_hash": user_hash(secret, "cust-1042")})

    impostor = Visitor(mail_client, visitor={"external_id": "cust-1042", "user_hash": "0" * 64})
    reply = handoff(impostor)

    assert PHRASES["en"]["email_offer"] in reply["text"]
    assert "jana@example.com" not in reply["text"]
