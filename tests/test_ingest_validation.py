"""A bad knowledge base fails with `file:line: message` for every problem at once, and nothing
is published: the version that was serving keeps serving."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.load import KnowledgeBaseInvalid
from ingest.store import current_version, list_versions, load_version
from tests.factories import front_matter, run_ingest, write_article, write_faq, write_text

ALLOWED = "['group', 'id', 'lang', 'questions', 'tags', 'title', 'url']"


@dataclass
class Published:
    kb: Path
    index_dir: Path
    version: str


@pytest.fixture
def published(tmp_path: Path) -> Published:
    """A valid knowledge base, ingested once: the version that must survive a bad edit."""
    kb, index_dir = tmp_path / "kb", tmp_path / "index"
    write_article(kb, "en/good.md", id="good", title="Good", body="Good text.\n")
    report = run_ingest(kb, index_dir)
    assert report.version is not None
    return Published(kb, index_dir, report.version)


def problems_of(published: Published) -> list[str]:
    with pytest.raises(KnowledgeBaseInvalid) as failure:
        run_ingest(published.kb, published.index_dir)
    return [str(problem) for problem in failure.value.problems]


def assert_nothing_published(published: Published) -> None:
    assert current_version(published.index_dir) == published.version
    assert list_versions(published.index_dir) == [published.version]
    assert "good" in load_version(published.index_dir).articles


CASES = {
    "front matter is not YAML (line inside the YAML)": (
        {"en/a.md": "---\ntitle: A\nurl: x: y\n---\nText.\n"},
        "en/a.md:3: front matter is not valid YAML: mapping values are not allowed in this context",
    ),
    "front matter with a quote left open (line of the quote)": (
        {"en/a.md": '---\nid: a\ntitle: "Returns\nlang: en\ntags: [x]\n---\n# A\nText.\n'},
        "en/a.md:3: front matter is not valid YAML: a quoted value that is never closed "
        "(found unexpected end of stream on line 5)",
    ),
    "front matter with a [ left open (line of the bracket)": (
        {"en/a.md": "---\nid: a\ntags: [x, y\ntitle: A\nlang: en\n---\n# A\nText.\n"},
        "en/a.md:3: front matter is not valid YAML: a [ list that is never closed with ] "
        "(did not find expected ',' or ']' on line 4)",
    ),
    "front matter badly indented (line of the indent)": (
        {"en/a.md": "---\nid: a\ntitle: A\nquestions:\n  - one\n - two\n---\n# A\nText.\n"},
        "en/a.md:6: front matter is not valid YAML: did not find expected key",
    ),
    "front matter never closed": (
        {"en/a.md": "---\ntitle: A\n\n# A\nText.\n"},
        "en/a.md:1: front matter starts with --- but never ends",
    ),
    "front matter is a list": (
        {"en/a.md": "---\n- title\n---\nText.\n"},
        "en/a.md:2: front matter must be key: value pairs",
    ),
    "missing title, no front matter": (
        {"en/a.md": "Text without any heading.\n"},
        "en/a.md:1: missing title (add `title:` or a # heading)",
    ),
    "missing title, front matter without one": (
        {"en/a.md": front_matter(lang="en") + "## Not a title\n\nText.\n"},
        "en/a.md:4: missing title (add `title:` or a # heading)",
    ),
    "unknown language (line of the field)": (
        {"en/a.md": front_matter(title="A", lang="fr") + "Texte.\n"},
        "en/a.md:3: unknown language 'fr'; expected one of ['en', 'de', 'da']",
    ),
    "empty body": (
        {"en/a.md": front_matter(title="A") + "# A\n\n   \n"},
        "en/a.md:4: empty body",
    ),
    "invalid UTF-8 (line of the bad byte)": (
        {"en/a.md": b"---\ntitle: A\n---\nfine\nbroken \xff here\n"},
        "en/a.md:5: not valid UTF-8 (save the file as UTF-8)",
    ),
    "unknown front-matter field (line of the field)": (
        {"en/a.md": front_matter(title="A", lang="en", colour="red") + "Text.\n"},
        f"en/a.md:4: unknown field(s) ['colour']; allowed: {ALLOWED}",
    ),
    "bad url (line of the field)": (
        {"en/a.md": front_matter(title="A", url="ftp://shop.example/a") + "Text.\n"},
        "en/a.md:3: url 'ftp://shop.example/a' must start with http(s):// or /",
    ),
    "questions not a list": (
        {"en/a.md": front_matter(title="A", questions="Why?") + "Text.\n"},
        "en/a.md:3: questions must be a list of texts",
    ),
    "bad id": (
        {"en/a.md": front_matter(id="returns policy!", title="A") + "Text.\n"},
        "en/a.md:2: id 'returns policy!' may use letters, digits and - _ . / only",
    ),
    "html with unknown kb: meta": (
        {
            "en/a.html": '<html><head><title>A</title><meta name="kb:owner" content="x"></head>'
            "<body><p>Text.</p></body></html>"
        },
        f"en/a.html:1: unknown field(s) ['owner']; allowed: {ALLOWED}",
    ),
    "csv missing columns": (
        {"faq.csv": "question,url\nWhy?,/why\n"},
        "faq.csv:1: FAQ table needs columns ['answer']; has ['question', 'url']",
    ),
    "csv unknown column": (
        {"faq.csv": "question,answer,owner\nWhy?,Because.,me\n"},
        "faq.csv:1: unknown columns ['owner']; allowed: "
        "['answer', 'group', 'id', 'lang', 'question', 'questions', 'tags', 'url']",
    ),
    "csv row with too many cells": (
        {"faq.csv": "question,answer\nWhy?,Because.\nHow?,Like this.,surplus\n"},
        "faq.csv:3: more cells than columns",
    ),
    "csv row after a cell spanning lines (line where the row starts)": (
        {"faq.csv": 'question,answer\nWhy?,"Because\nof this\nand that."\nHow?,Thus.,surplus\n'},
        "faq.csv:5: more cells than columns",
    ),
    "csv row with an empty question": (
        {"faq.csv": "question,answer\nWhy?,Because.\n,An answer to nothing.\n"},
        "faq.csv:3: missing title (add `title:` or a # heading)",
    ),
    "tsv row with an unknown language": (
        {"faq.tsv": "question\tanswer\tlang\nWarum?\tDarum.\tfr\n"},
        "faq.tsv:2: unknown language 'fr'; expected one of ['en', 'de', 'da']",
    ),
}


@pytest.mark.parametrize("files, expected", CASES.values(), ids=CASES.keys())
def test_problem_is_reported_with_file_and_line_and_nothing_is_published(
    published: Published, files: dict[str, str | bytes], expected: str
) -> None:
    for path, text in files.items():
        write_text(published.kb, path, text)

    assert problems_of(published) == [expected]
    assert_nothing_published(published)


def test_duplicate_id_names_both_files(published: Published) -> None:
    write_article(published.kb, "en/first.md", id="returns", title="Returns", body="One.\n")
    write_article(published.kb, "de/second.md", id="returns", title="Rückgabe", body="Zwei.\n")

    assert problems_of(published) == [
        "en/first.md:1: duplicate id 'returns' (also in de/second.md)"
    ]
    assert_nothing_published(published)


def test_duplicate_id_between_a_changed_and_an_unchanged_file(published: Published) -> None:
    """The unchanged file is not re-parsed, but its article still takes part in the check."""
    write_article(published.kb, "en/other.md", id="good", title="Other", body="Other.\n")

    assert problems_of(published) == ["en/other.md:1: duplicate id 'good' (also in en/good.md)"]
    assert_nothing_published(published)


def test_all_problems_are_reported_at_once(published: Published) -> None:
    write_text(published.kb, "en/a.md", "---\ntitle: A\n")
    write_text(published.kb, "en/b.md", front_matter(title="B", lang="xx", url="mailto:x") + "B\n")
    write_text(published.kb, "en/c.md", b"# C\n\xc3\x28\n")
    write_faq(published.kb, "faq.csv", [{"question": "Q", "answer": ""}])

    assert problems_of(published) == [
        "en/a.md:1: front matter starts with --- but never ends",
        "en/b.md:3: unknown language 'xx'; expected one of ['en', 'de', 'da']",
        "en/b.md:4: url 'mailto:x' must start with http(s):// or /",
        "en/c.md:2: not valid UTF-8 (save the file as UTF-8)",
        "faq.csv:2: empty body",
    ]
    assert_nothing_published(published)


def test_fixing_the_problem_publishes_again(published: Published) -> None:
    bad = write_text(published.kb, "en/a.md", front_matter(title="A", lang="fr") + "Text.\n")
    problems_of(published)

    bad.write_text(front_matter(title="A", lang="en") + "Text.\n", encoding="utf-8")
    report = run_ingest(published.kb, published.index_dir)

    assert report.published and report.added == ["en/a"]
    assert current_version(published.index_dir) == report.version != published.version


def test_missing_knowledge_base_folder_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseInvalid) as failure:
        run_ingest(tmp_path / "nowhere", tmp_path / "index")

    assert str(failure.value) == f"{tmp_path / 'nowhere'}:0: knowledge-base folder not found"
    assert current_version(tmp_path / "index") is None
