"""The conversation's language with the default model (multilingual-e5-small) on the sample
knowledge base: questions that name Danish places stay English and are answered from the
English articles; a topic missing in Danish answers a Danish chat from another language's
article, with the note in Danish."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from bot.phrases import PHRASES, language_name
from tests.conftest import SAMPLE_KB, Visitor, build_index, make_settings

pytestmark = [pytest.mark.real_model, pytest.mark.slow]

MISSING = "da/fjeld-club.md"  # the topic the fixture KB has in English and German only


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, real_e5: Any) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("language-e5")
    kb = shutil.copytree(SAMPLE_KB, tmp / "kb")
    (kb / MISSING).unlink()
    build_index(kb, tmp / "index", embedder=real_e5)
    settings = make_settings(tmp, index_dir=tmp / "index", embedding_model=real_e5.name,
                             rate_limit_per_minute=10_000)
    context = AppContext.build(settings, embedder=real_e5)
    with TestClient(create_app(context=context)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("Can I pick up my order in the Copenhagen store?", "en/click-and-collect"),
        ("Where is the Aarhus store?", "en/stores-opening-hours"),
    ],
)
def test_danish_place_names_get_english_answers(
    client: TestClient, question: str, article: str
) -> None:
    visitor = Visitor(client, locale="en")

    turn = visitor.say(question)

    reply = turn["reply"]
    assert turn["lang"] == "en"
    assert reply["kind"] in ("answer", "clarify", "handoff"), reply
    if reply["kind"] == "handoff":
        assert reply["text"].startswith(PHRASES["en"]["why_low_confidence"])
    else:
        assert reply["sources"][0]["article_id"] == article, reply["sources"]
        assert all(s["article_id"].startswith("en/") for s in reply["sources"])


@pytest.mark.parametrize(
    "question", ["Hvad er Fjeld Club?", "Hvordan samler jeg point i Fjeld Club?"]
)
def test_a_topic_missing_in_danish_answers_from_another_language_and_says_so(
    client: TestClient, question: str
) -> None:
    visitor = Visitor(client, locale="da")

    turn = visitor.say(question)

    reply = turn["reply"]
    assert turn["lang"] == "da"
    assert reply["kind"] == "answer", reply
    source = reply["sources"][0]["article_id"]
    assert source in ("en/fjeld-club", "de/fjeld-club")
    note = PHRASES["da"]["other_language"].format(language=language_name(reply["lang"], "da"))
    assert reply["text"].endswith(note)
