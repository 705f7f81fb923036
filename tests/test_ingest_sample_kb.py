"""The sample knowledge base shipped in `kb_docs/` ingests cleanly and covers every topic in
English, German and Danish."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ingest.load import discover
from ingest.store import load_version
from tests.conftest import SAMPLE_KB

LANGUAGES = ("en", "de", "da")


def groups_by_language(index_dir: Path) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for article in load_version(index_dir).articles.values():
        groups[article.lang].add(article.group_id)
    return groups


def test_every_file_of_the_sample_kb_is_loaded() -> None:
    files, skipped = discover(SAMPLE_KB)

    assert skipped == []
    assert {path.suffix for path in files} == {".md", ".html", ".csv"}


def test_sample_kb_has_at_least_25_groups_in_each_language(sample_index: Path) -> None:
    groups = groups_by_language(sample_index)

    assert {lang: len(groups[lang]) >= 25 for lang in LANGUAGES} == dict.fromkeys(LANGUAGES, True)


def test_each_topic_exists_in_all_three_languages(sample_index: Path) -> None:
    groups = groups_by_language(sample_index)

    assert groups["en"] == groups["de"] == groups["da"]


def test_every_sample_article_has_a_source_link_and_alternate_questions(
    sample_index: Path,
) -> None:
    articles = load_version(sample_index).articles.values()

    assert [a.id for a in articles if not a.url] == []
    assert [a.id for a in articles if not a.questions] == []
