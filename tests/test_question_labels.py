"""The `expected_section` labels of `benchmarks/questions/sample-kb.csv` name real headings.

The column says which section of the expected article answers a question; it is only worth
something while every label is a heading the chunker really produces. Editors rename headings,
so this reads the knowledge base with the project's own loader and chunker (no model) and names
the CSV line of every label that no longer matches. Conventions are in
`benchmarks/questions/README.md`: empty means the article's lead (the text under the title,
before the first `##`), `|` separates equally good sections, out-of-scope rows stay empty.
"""

from __future__ import annotations

import csv
from collections import Counter
from functools import cache

from ingest.chunk import chunk_article
from ingest.load import discover, load_file
from ingest.settings import LANGUAGES
from tests.conftest import ROOT, SAMPLE_KB

QUESTIONS = ROOT / "benchmarks" / "questions" / "sample-kb.csv"
HEADER = ["question", "expected", "lang", "expected_section"]
MIN_LABELLED = 150
MIN_LABELLED_PER_LANGUAGE = 50


@cache
def headings_by_article() -> dict[str, frozenset[str]]:
    """Every article id in the sample KB with the headings (h2, h3, ...) its chunks carry."""
    found: dict[str, frozenset[str]] = {}
    files, _ = discover(SAMPLE_KB)
    for path in files:
        articles, problems = load_file(path, SAMPLE_KB, languages=LANGUAGES, default_language="en")
        assert not problems, "\n".join(str(p) for p in problems)
        for article in articles:
            found[article.id] = frozenset(
                heading for chunk in chunk_article(article) for heading in chunk.heading_path[1:]
            )
    return found


@cache
def rows() -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows with their line numbers in the file."""
    with QUESTIONS.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        numbered = [(reader.line_num, row) for row in reader]
        return list(reader.fieldnames or []), numbered


def is_article(expected: str) -> bool:
    """An article id (`en/returns`, `a|b`) as opposed to a FAQ row or a handoff."""
    return bool(expected) and all("/" in e for e in expected.split("|"))


def test_header_is_question_expected_lang_expected_section() -> None:
    header, _ = rows()

    assert header == HEADER


def test_every_row_has_all_four_columns() -> None:
    _, numbered = rows()

    short = [line for line, row in numbered if None in row.values() or None in row]

    assert short == [], f"{QUESTIONS.name}: lines {short} do not have exactly 4 columns"


def test_every_expected_section_is_a_heading_of_the_expected_article() -> None:
    headings = headings_by_article()
    _, numbered = rows()
    wrong = []
    for line, row in numbered:
        section = row["expected_section"].strip()
        if not section:
            continue
        articles = [a.strip() for a in row["expected"].split("|") if a.strip()]
        unknown_articles = [a for a in articles if a not in headings]
        if unknown_articles:
            wrong.append(f"line {line}: unknown article(s) {unknown_articles}")
            continue
        known = frozenset().union(*(headings[a] for a in articles)) if articles else frozenset()
        for heading in (h.strip() for h in section.split("|")):
            if heading not in known:
                wrong.append(
                    f"line {line}: {heading!r} is not a heading of {' or '.join(articles)} "
                    f"(question {row['question']!r})"
                )

    assert wrong == [], f"{QUESTIONS.name}:\n" + "\n".join(wrong)


def test_out_of_scope_rows_have_no_section() -> None:
    _, numbered = rows()

    labelled = [line for line, row in numbered if not row["expected"] and row["expected_section"]]

    assert labelled == [], f"{QUESTIONS.name}: handoff rows {labelled} name a section"


def test_enough_rows_are_labelled_in_every_language() -> None:
    # An in-scope article row is labelled by construction: a heading, or empty for the lead.
    _, numbered = rows()
    per_language = Counter(row["lang"] for _, row in numbered if is_article(row["expected"]))

    assert sum(per_language.values()) >= MIN_LABELLED, per_language
    assert {lang: per_language[lang] >= MIN_LABELLED_PER_LANGUAGE for lang in LANGUAGES} == (
        dict.fromkeys(LANGUAGES, True)
    ), per_language


def test_questions_are_not_duplicated() -> None:
    _, numbered = rows()
    seen: dict[str, int] = {}
    duplicates = []
    for line, row in numbered:
        key = row["question"].strip().casefold().rstrip("?!. ")
        if key in seen:
            duplicates.append(f"line {line} repeats line {seen[key]}: {row['question']!r}")
        seen.setdefault(key, line)

    assert duplicates == [], "\n".join(duplicates)
