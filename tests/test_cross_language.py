"""Topics with no version in the conversation's language: the model's language gap and the
word match in the topic's own language (`bot.cross_language`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cross_language import language_gap
from bot.retrieval import Retriever
from ingest.documents import Article, untranslated
from tests.conftest import build_index
from tests.kb_factory import write_tiny_kb
from tests.test_retrieval import holder_for

LANGS = ["da", "en", "da", "en", "en", "de"]  # article rows 0..5
GROUPS = ["returns", "returns", "tracking", "tracking", "stores", "stores"]


@pytest.mark.parametrize(
    ("dense", "gap"),
    [
        ({0: 0.90, 1: 0.88, 2: 0.85, 3: 0.81}, 0.03),  # median of 0.02 and 0.04
        ({0: 0.90, 1: 0.88}, 0.02),  # one topic in both languages
        ({0: 0.90, 2: 0.85, 4: 0.80}, 0.0),  # no topic came up in both: nothing to measure
        ({0: 0.80, 1: 0.90}, 0.0),  # the model prefers the other language: no correction
        ({4: 0.9, 5: 0.8}, 0.0),  # neither version is in the question's language
        ({}, 0.0),
    ],
)
def test_the_language_gap_is_measured_on_topics_found_in_both(
    dense: dict[int, float], gap: float
) -> None:
    assert language_gap(dense, "da", LANGS, GROUPS) == pytest.approx(gap)


def test_untranslated_names_the_topics_without_a_version_per_language() -> None:
    articles = [
        Article(id=f"{lang}/{group}", lang=lang, title=group, body=".", source=f"{lang}.md",
                group=group)
        for lang, group in (("en", "returns"), ("da", "returns"), ("en", "stores"))
    ]

    assert untranslated(articles, ["en", "de", "da"]) == {
        "de": ["returns", "stores"],
        "da": ["stores"],
    }  # English has every topic: left out


@pytest.fixture
def tiny(tmp_path: Path) -> Retriever:
    kb_dir = write_tiny_kb(tmp_path / "kb")  # payment and stores exist in English only
    build_index(kb_dir, tmp_path / "index")
    holder = holder_for(tmp_path / "index")
    holder.refresh()
    assert holder.current is not None
    return holder.current.retriever


def test_an_english_only_topic_is_matched_word_for_word_in_english(tiny: Retriever) -> None:
    question = "Kann ich mit PayPal bezahlen?"
    query = tiny.encode_queries([question])

    evidence = tiny.evidence(question, "de", query)
    result = tiny.search(question, lang="de")

    foreign = {tiny.index.articles[tiny._article_ids[a]].id for a in evidence.foreign_lexical}
    assert "en/payment" in foreign
    assert all(not a.startswith("de/") for a in foreign)
    assert result.top is not None
    assert result.top.article.id == "en/payment"
    assert result.top.lexical > 0.0  # in the conversation's language it would have none


def test_a_language_every_topic_has_needs_no_foreign_match(tiny: Retriever) -> None:
    question = "Can I pay with PayPal?"

    evidence = tiny.evidence(question, "en", tiny.encode_queries([question]))

    assert evidence.foreign_lexical == {}
