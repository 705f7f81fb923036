"""Privacy (issue 15): redaction of personal data, `supportbot privacy export|delete|purge`,
and the retention purge the server runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bot.answer import make_composer
from bot.app import create_app
from bot.cli import cli
from bot.config import get_settings
from bot.context import AppContext
from bot.models import Base, Conversation, Customer, Delivery
from bot.redact import redact
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings
from tests.console_helpers import user_hash

# -- what counts as personal data --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me: Anna.Berg+shop@example.co.uk", "mail me: [email]"),
        ("call +49 30 12345678 or 0170 1234567", "call [phone] or [phone]"),
        ("(040) 123 456 78 after six", "[phone] after six"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [iban]"),
        ("iban DK5000400440116243 ok", "iban [iban] ok"),
        ("card 4111 1111 1111 1111, exp 12/27", "card [card], exp 12/27"),
        ("card 5555-5555-5555-4444", "card [card]"),
        # not personal: fails the checks or is not a number of that kind
        ("order 4111 1111 1111 1112", "order 4111 1111 1111 1112"),
        ("ref GB12 ABCD EFGH IJKL MN", "ref GB12 ABCD EFGH IJKL MN"),
        ("delivered 03.11.2026 at 08:00, order 20261103", "delivered 03.11.2026 at 08:00, "
         "order 20261103"),
        ("size 42, 3 items, 19.99 EUR", "size 42, 3 items, 19.99 EUR"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


# -- stored transcripts and the chat model -----------------------------------------------------


def test_transcripts_are_redacted_when_asked(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(tmp_path, index_dir=sample_index, redact_transcripts=True)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        visitor = Visitor(client)
        text = "my card 4111 1111 1111 1111 was charged twice"
        sent = visitor.say(text, client_id="client-0001")
        again = visitor.say(text, client_id="client-0001")
        stored = visitor.messages()["messages"]

    assert sent["message"]["text"] == "my card [card] was charged twice"
    assert again["message"]["id"] == sent["message"]["id"]  # a retry is still the same message
    assert "4111" not in json.dumps(stored)


def test_transcripts_are_kept_verbatim_by_default(client: TestClient) -> None:
    visitor = Visitor(client)
    sent = visitor.say("write to anna@example.com")
    assert sent["message"]["text"] == "write to anna@example.com"


class Recording:
    """A chat model that remembers its prompts (LangChain's fake, wrapped)."""

    def __init__(self, model: Any):
        self.model, self.prompts = model, []

    def invoke(self, prompt: str) -> Any:
        self.prompts.append(prompt)
        return self.model.invoke(prompt)


@pytest.mark.parametrize("redact_input", [True, False])
def test_the_chat_model_is_not_sent_personal_data(redact_input: bool) -> None:
    from bot.answer import Passage

    composer: Any = make_composer(
        "fake", "", timeout=5, max_chars=700, fake_responses=["See [1]."],
        redact_input=redact_input,
    )
    composer.model = Recording(composer.model)
    composer.compose("I am anna@example.com, IBAN DE89370400440532013000", list[Passage](), "en")

    prompt = composer.model.prompts[0]
    assert ("anna@example.com" in prompt) is not redact_input
    assert ("[email], IBAN [iban]" in prompt) is redact_input


# -- export, delete, purge ---------------------------------------------------------------------


@pytest.fixture
def app(
    tmp_path: Path, sample_index: Path, database_url: str
) -> Iterator[tuple[TestClient, AppContext]]:
    settings = make_settings(
        tmp_path, index_dir=sample_index, database_url=database_url,
        webhook_url="http://hooks.invalid/handoff",
    )
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        yield client, context


@pytest.fixture
def cli_env(app: tuple[TestClient, AppContext], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("SUPPORTBOT_ENVIRONMENT", "test")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", app[1].settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def customer_talks(client: TestClient, context: AppContext, external_id: str, email: str,
                   marker: str) -> Visitor:
    """A signed-in customer who chats, asks for a person (packet, webhook), rates an answer,
    and comes back for a second chat."""
    proof = {"external_id": external_id, "user_hash": user_hash(context, external_id),
             "email": email, "name": f"Name {marker}"}
    first = Visitor(client, visitor=proof)
    reply = first.say(f"how do I return an item {marker}")["reply"]
    client.post(f"/api/v1/conversations/{first.id}/feedback", headers=first.headers,
                json={"message_id": reply["id"], "helpful": False, "comment": f"bad {marker}"})
    first.say(f"talk to a human please {marker}")
    second = Visitor(client, visitor={"email": email})  # not signed in, same address
    second.say(f"where is my parcel {marker}")
    return first


def everything_stored(context: AppContext) -> str:
    """Every row of every table, as one text to search."""
    rows = []
    with context.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                rows.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(rows)


def test_a_deleted_customer_leaves_nothing_behind(
    app: tuple[TestClient, AppContext], cli_env: None
) -> None:
    client, context = app
    anna = customer_talks(client, context, "cust-anna", "Anna@Example.com", "ZEBRA")
    customer_talks(client, context, "cust-ben", "ben@example.com", "OTTER")
    before = everything_stored(context)
    assert before.count("ZEBRA") >= 6 and "Anna@Example.com" in before
    with context.db.session() as session:
        assert session.scalar(select(Delivery).where(Delivery.kind == "webhook")) is not None

    exported = CliRunner().invoke(cli, ["privacy", "export", "--email", "anna@example.com"])
    deleted = CliRunner().invoke(cli, ["privacy", "delete", "--external-id", "cust-anna",
                                       "--yes"])
    again = CliRunner().invoke(cli, ["privacy", "export", "--email", "anna@example.com"])

    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.output)
    assert [c["external_id"] for c in document["customers"]] == ["cust-anna"]
    assert len(document["conversations"]) == 2
    assert any(m["text"].endswith("ZEBRA") for m in document["conversations"][0]["messages"])
    assert document["conversations"][0]["handoffs"][0]["packet"]
    assert document["deliveries"]
    assert deleted.exit_code == 0, deleted.output
    assert "2 conversations" in deleted.output and "1 customers" in deleted.output
    after = everything_stored(context)
    for trace in ("ZEBRA", "anna@example.com", "Anna@Example.com", "cust-anna", anna.id):
        assert trace not in after, trace
    assert after.count("OTTER") == before.count("OTTER")  # Ben's data untouched
    assert again.exit_code == 3


def test_privacy_commands_need_exactly_one_person(cli_env: None) -> None:
    neither = CliRunner().invoke(cli, ["privacy", "delete", "--yes"])
    both = CliRunner().invoke(cli, ["privacy", "export", "--email", "a@b.example",
                                    "--external-id", "7"])
    assert neither.exit_code == 2 and both.exit_code == 2


def age(context: AppContext, conversation_id: str, days: int) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with context.db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        session.execute(update(Conversation).where(Conversation.id == conversation_id)
                        .values(updated_at=past))
        session.execute(update(Customer).values(created_at=past))
        session.execute(update(Delivery).values(created_at=past))


def test_the_purge_deletes_only_what_is_older_than_the_retention(
    app: tuple[TestClient, AppContext], cli_env: None
) -> None:
    client, context = app
    old = customer_talks(client, context, "cust-old", "old@example.com", "WALRUS")
    recent = Visitor(client)
    recent.say("how do I return an item RECENT")
    age(context, old.id, 40)

    result = CliRunner().invoke(cli, ["privacy", "purge", "--days", "30"])

    assert result.exit_code == 0, result.output
    assert "deleted 1 conversations" in result.output
    after = everything_stored(context)
    assert "RECENT" in after
    # the second chat (recent, not signed in) stays; the customer record, old and no longer
    # tied to any chat, goes. (Its question may be stored twice: as the message and as the
    # query retrieval searched, in the reply's details.)
    assert "where is my parcel WALRUS" in after
    assert "how do I return an item WALRUS" not in after and "cust-old" not in after
    assert old.id not in after


def test_the_server_purges_by_itself(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(tmp_path, index_dir=sample_index, retention_days=30,
                             retention_poll_seconds=0.1)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        visitor = Visitor(client)
        age(context, visitor.id, 31)

        async def wait() -> None:
            for _ in range(100):
                with context.db.session() as session:
                    if session.get(Conversation, visitor.id) is None:
                        return
                await asyncio.sleep(0.1)
            raise AssertionError("the retention worker did not purge")

        client.portal.call(wait)  # type: ignore[union-attr]
