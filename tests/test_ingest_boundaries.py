"""Ingestion reads only the knowledge-base folder, and says what is wrong with a broken table
(issue 15: a symlink out of `kb_docs/` was followed; an unclosed quote said "empty body")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.load import KnowledgeBaseInvalid
from ingest.store import load_version
from tests.factories import run_ingest, write_article, write_text
from tests.test_ingest_validation import (
    Published,
    assert_nothing_published,
    problems_of,
    published,  # noqa: F401 - the fixture
)


def test_a_link_to_a_file_outside_the_folder_is_refused(
    published: Published, tmp_path: Path  # noqa: F811
) -> None:
    secret = write_text(tmp_path / "elsewhere", "secret.md", "# Secret\nThe root password.\n")
    (published.kb / "en").mkdir(exist_ok=True)
    os.symlink(secret, published.kb / "en" / "secret.md")

    problems = problems_of(published)

    assert problems == [
        f"en/secret.md:0: links to {secret.resolve()}, outside the knowledge-base folder; "
        "refused (copy the file into the folder instead)"
    ]
    assert_nothing_published(published)


def test_a_linked_folder_outside_is_not_entered(
    published: Published, tmp_path: Path  # noqa: F811
) -> None:
    write_article(tmp_path / "elsewhere", "private.md", title="Private", body="Salaries.\n")
    os.symlink(tmp_path / "elsewhere", published.kb / "linked")

    report = run_ingest(published.kb, published.index_dir)

    assert report.version is not None
    assert set(load_version(published.index_dir).articles) == {"good"}


def test_a_link_inside_the_folder_is_fine(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "en/returns.md", id="returns", title="Returns", body="Within 30 days.\n")
    os.symlink(kb / "en" / "returns.md", kb / "en" / "returns-alias.md")

    with pytest.raises(KnowledgeBaseInvalid) as failure:  # read twice: the same id twice
        run_ingest(kb, tmp_path / "index")

    assert "duplicate id 'returns'" in str(failure.value)


@pytest.mark.parametrize(
    ("table", "line"),
    [
        ('question,answer\n"How do I pay?,By card.\nWhere is it?,Here.\n', 2),
        ("question,answer\nWhy?,Because.\nHow?,\"Like this.\nWhere?,There.\n", 3),
    ],
)
def test_an_unclosed_quote_is_reported_on_its_line(
    published: Published, table: str, line: int  # noqa: F811
) -> None:
    write_text(published.kb, "faq.csv", table)

    assert problems_of(published) == [
        f'faq.csv:{line}: a quoted cell in this row is never closed (missing ")'
    ]
    assert_nothing_published(published)
