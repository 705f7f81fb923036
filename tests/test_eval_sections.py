"""`supportbot eval` and the answering section (`expected_section`): reading the column,
`section_correct` per question and in the summary, and where it is printed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.evaluate import Outcome, Question, read_questions, section_matches, summarise
from tests.kb_factory import write_article, write_tiny_kb
from tests.test_eval_cli import QUESTIONS, hash_settings, run_eval, write_questions

__all__ = ["hash_settings"]  # the fixture, used by name

RETURNS_BODY = """You can return unworn items within 30 days. The return label is free.

## Return conditions

- Items must be unworn and unwashed.
- Boots may only be tried on indoors.

## Creating a return label

1. Open "My orders".
2. Click "Return".
3. Print the label.
"""
HEADINGS = "Return conditions|Creating a return label|"  # every part of en/returns: always right


def write_labelled(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["question", "expected", "lang", "expected_section"])
        writer.writerows(rows)
    return path


@pytest.fixture
def kb(tmp_path: Path) -> tuple[Path, Path]:
    kb_dir = write_tiny_kb(tmp_path / "kb")
    write_article(kb_dir, "en", "returns", "Returning an item", RETURNS_BODY,
                  ("How do I send something back?", "Can I return my jacket?"))
    return kb_dir, tmp_path / "index"


# -- reading -------------------------------------------------------------------------------------

def test_without_the_column_no_question_is_labelled(tmp_path: Path) -> None:
    questions = read_questions(write_questions(tmp_path / "q.csv", QUESTIONS[:3]))

    assert [q.expected_section for q in questions] == [None, None, None]
    assert [q.expected_sections for q in questions] == [None, None, None]


def test_the_column_labels_every_in_scope_row_empty_meaning_the_lead(tmp_path: Path) -> None:
    path = write_labelled(tmp_path / "q.csv", [
        ("can i return boots", "en/returns", "en", "Return conditions"),
        ("how do i return", "en/returns", "en", ""),
        ("label or costs", "en/returns", "en", "Creating a return label | Return costs"),
        ("do you sell kayaks", "", "en", ""),
    ])

    questions = read_questions(path)

    assert [q.expected_sections for q in questions] == [
        ["return conditions"], [""], ["creating a return label", "return costs"], None,
    ]


@pytest.mark.parametrize(
    ("expected", "shown", "right"),
    [
        ([""], [""], True),
        ([""], ["Return conditions"], False),
        (["return conditions"], ["Return  Conditions"], True),
        (["creating a return label"], ["", "Creating a return label"], True),  # lead + steps
        ([""], ["", "Creating a return label"], True),
        (["return costs"], ["", "Creating a return label"], False),
        (["returning an item"], [""], True),  # the title names the lead
        (["return conditions"], [], False),
    ],
)
def test_a_shown_section_matches_an_accepted_heading(
    expected: list[str], shown: list[str], right: bool
) -> None:
    assert section_matches(expected, shown, "Returning an item") is right


# -- the summary ---------------------------------------------------------------------------------

def outcome(lang: str, expected_section: str | None, section_correct: bool | None,
            expected: str = "en/returns") -> Outcome:
    return Outcome("q", expected, lang, "answer", expected, 0.9, [expected], 1.0,
                   answered_right=bool(expected), expected_section=expected_section,
                   section_correct=section_correct)


def test_the_summary_shares_right_sections_among_right_articles_per_language() -> None:
    outcomes = [
        outcome("en", "", True),
        outcome("en", "Return conditions", False),
        outcome("en", "", None),  # wrong article or no answer: not counted
        outcome("de", "", True),
        outcome("de", "", None, expected=""),  # a handoff row
    ]

    summary = summarise(outcomes)

    assert (summary["section_correct"], summary["n_section"]) == (0.6667, 3)
    assert (summary["by_lang"]["en"]["section_correct"], summary["by_lang"]["en"]["n_section"]) \
        == (0.5, 2)
    assert (summary["by_lang"]["de"]["section_correct"], summary["by_lang"]["de"]["n_section"]) \
        == (1.0, 1)


def test_no_labels_means_no_section_figure_not_zero() -> None:
    summary = summarise([outcome("en", None, None), outcome("de", None, None)])

    assert "section_correct" not in summary
    assert "section_correct" not in summary["by_lang"]["en"]


def test_labelled_but_nothing_answered_rightly_is_a_figure_of_none() -> None:
    summary = summarise([outcome("en", "", None)])

    assert (summary["section_correct"], summary["n_section"]) == (0.0, 0)


# -- the command ---------------------------------------------------------------------------------

LABELLED = [
    *[(q, e, lang, HEADINGS if e == "en/returns" else "No such heading")
      for q, e, lang in QUESTIONS if e],
    *[(q, e, lang, "") for q, e, lang in QUESTIONS if not e],
]


@pytest.mark.usefixtures("hash_settings")
def test_json_details_and_table_carry_the_section_figures(
    kb: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the whole table on one line per row
    questions = write_labelled(tmp_path / "q.csv", LABELLED)
    details = tmp_path / "details.jsonl"

    result = run_eval(kb, questions, "--json", "--details", str(details))

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    right = [line for line in lines if line["section_correct"] is not None]
    # every heading of en/returns is accepted there, and no other article has the made-up one
    assert right and all(line["section_correct"] is (line["expected"] == "en/returns")
                         for line in right)
    assert summary["n_section"] == len(right)
    assert summary["section_correct"] == round(
        sum(line["section_correct"] for line in right) / len(right), 4)
    assert summary["by_lang"]["en"]["n_section"] + summary["by_lang"]["de"]["n_section"] \
        == len(right)
    returns = next(line for line in lines if line["question"] == "can i return my jacket")
    assert returns["expected_section"] == HEADINGS
    assert returns["shown_sections"][0] in ("", "Return conditions", "Creating a return label")

    table = run_eval(kb, questions, "--no-ingest")
    assert "section" in table.stdout
    assert f"({summary['n_section']})" in table.stdout

    report = tmp_path / "report"
    assert run_eval(kb, questions, "--no-ingest", "--report", str(report)).exit_code == 0
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "right section (n)" in text
    assert "## Right article, wrong section" in text


@pytest.mark.usefixtures("hash_settings")
def test_a_file_without_labels_prints_no_section_column(kb: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", QUESTIONS)

    result = run_eval(kb, questions, "--json")
    table = run_eval(kb, questions, "--no-ingest")

    assert "section_correct" not in json.loads(result.stdout)
    assert "section" not in table.stdout


def test_a_question_reads_its_labels() -> None:
    question = Question("q", "en/returns", "en", 2, expected_section="A|b ")

    assert question.expected_sections == ["a", "b"]


@pytest.mark.usefixtures("hash_settings")
def test_tune_chooses_the_section_weights_with_held_out_figures(kb: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    from ingest.store import load_version

    questions = write_labelled(tmp_path / "q.csv", LABELLED)

    result = run_eval(kb, questions, "--json", "--tune")

    assert result.exit_code == 0, result.output
    stored = load_version(kb[1]).calibration()
    assert stored is not None
    sections = stored["sections"]
    assert json.loads(result.stdout)["tuned"]["sections"] == sections
    assert set(sections) >= {"lexical", "lead", "offset", "cross_validated"}
    labelled = sum(1 for _, expected, _, _ in LABELLED if expected)
    assert sections["questions"] == labelled
    assert set(sections["cross_validated"]) == {"all", "en", "de"}
    # only en/returns rows can be right (the others name no real heading)
    returns = sum(1 for _, expected, _, _ in LABELLED if expected == "en/returns")
    assert sections["in_sample"] == round(returns / labelled, 4)
