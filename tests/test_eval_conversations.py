"""`supportbot eval` on a conversation file: every turn asked in one conversation, with
follow-ups read in context and without; on a tiny knowledge base with the hash embedder."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import get_settings
from bot.eval_conversations import is_conversation_file, summarise_conversations
from bot.evaluate import Outcome
from tests.kb_factory import write_tiny_kb

TURNS = [
    ("c1", "where is my parcel", "en/tracking", "en"),
    ("c1", "and how do i track my order", "en/tracking", "en"),
    ("c2", "can i pay with paypal", "en/payment", "en"),
    ("c2", "and amex?", "en/payment", "en"),
    ("c2", "and by kayak?", "", "en"),
    ("c3", "wie schicke ich etwas zurück", "de/returns", "de"),
    ("c3", "und die jacke?", "de/returns|en/returns", "de"),
]


@pytest.fixture
def hash_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SUPPORTBOT_EMBEDDING_MODEL", "hash-64")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def write_conversations(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["conversation", "question", "expected", "lang"])
        writer.writerows(rows)
    return path


def run_eval(tmp_path: Path, conversations: Path, *args: str) -> Result:
    kb_dir = write_tiny_kb(tmp_path / "kb")
    return CliRunner().invoke(cli, ["eval", "--kb-dir", str(kb_dir), "--index-dir",
                                    str(tmp_path / "index"), "--questions", str(conversations),
                                    *args])


@pytest.mark.usefixtures("hash_settings")
def test_conversations_are_reported_with_and_without_context(tmp_path: Path) -> None:
    path = write_conversations(tmp_path / "turns.csv", TURNS)
    details = tmp_path / "details.jsonl"
    result = run_eval(tmp_path, path, "--json", "--details", str(details))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["n_conversations"], summary["n_turns"]) == (3, 7)
    for mode in ("with_context", "without_context"):
        figures = summary[mode]
        assert set(figures["by_lang"]) == {"de", "en"}
        assert figures["n_turns"] == 7
        for name in ("answered_correct", "follow_up_answered_correct",
                     "last_turn_answered_correct", "wrong_answer", "oos_handoff_recall"):
            assert 0.0 <= figures[name] <= 1.0
    assert summary["without_context"]["rewritten"] == 0.0
    assert summary["with_context"]["rewritten"] > 0.0  # "and amex?" leans on paypal
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 14
    assert {(x["mode"], x["conversation"], x["turn"]) for x in lines} >= {
        ("with_context", "c2", 3), ("without_context", "c3", 2)}
    assert any("rewritten_from" in x for x in lines if x["mode"] == "with_context")
    assert not any("rewritten_from" in x for x in lines if x["mode"] == "without_context")


@pytest.mark.usefixtures("hash_settings")
def test_text_report_names_both_modes(tmp_path: Path) -> None:
    path = write_conversations(tmp_path / "turns.csv", TURNS)
    result = run_eval(tmp_path, path)
    assert result.exit_code == 0, result.output
    assert "Conversations (3 conversations, 7 turns" in result.output
    assert "yes" in result.output and "no" in result.output


@pytest.mark.usefixtures("hash_settings")
@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        # a conversation's turns must stay together
        ([("c1", "where is my parcel", "en/tracking", "en"),
          ("c2", "can i pay with paypal", "en/payment", "en"),
          ("c1", "and amex?", "en/payment", "en")], (), "turns.csv:4: conversation 'c1'"),
        ([("", "where is my parcel", "en/tracking", "en")], (), "turns.csv:2: empty conversation"),
        # either of two articles, both must exist
        ([("c1", "where is my parcel", "en/tracking|en/nope", "en")], (),
         "turns.csv:2: unknown article id 'en/nope'"),
        # thresholds are tuned on single questions
        (TURNS, ("--tune",), "--tune needs a question file"),
    ],
)
def test_bad_conversation_files_say_what_is_wrong(
    tmp_path: Path, rows: list[tuple[str, str, str, str]], args: tuple[str, ...], message: str
) -> None:
    path = write_conversations(tmp_path / "turns.csv", rows)
    result = run_eval(tmp_path, path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_question_file_is_not_a_conversation_file(tmp_path: Path) -> None:
    questions = tmp_path / "q.csv"
    questions.write_text("question,expected,lang\nwhere is my parcel,en/tracking,en\n")
    assert not is_conversation_file(questions)
    assert is_conversation_file(write_conversations(tmp_path / "c.csv", TURNS))
    assert not is_conversation_file(tmp_path / "missing.csv")


def turn(conversation: str, n: int, expected: str, kind: str, right: bool,
         rewritten: bool = False, lang: str = "en") -> Outcome:
    outcome = Outcome("q", expected, lang, kind, None, None, [], 1.0,
                      conversation=conversation, turn=n,
                      rewritten_from="before" if rewritten else None)
    outcome.answered_right = kind == "answer" and right
    outcome.answered_wrong = kind == "answer" and not right
    return outcome


def test_summary_counts_follow_ups_and_last_turns() -> None:
    outcomes = [
        turn("a", 1, "x", "answer", True),
        turn("a", 2, "x", "answer", True, rewritten=True),
        turn("a", 3, "", "handoff", False),  # a handoff where nothing answers: right
        turn("b", 1, "y", "answer", True, lang="de"),
        turn("b", 2, "y", "answer", False, lang="de"),  # the wrong article
        turn("c", 1, "z", "clarify", False, lang="de"),
    ]
    summary = summarise_conversations({"with_context": outcomes})
    figures = summary["with_context"]
    assert (summary["n_conversations"], summary["n_turns"]) == (3, 6)
    assert figures["answered_correct"] == round(3 / 5, 4)
    assert figures["follow_up_answered_correct"] == 0.5  # a2 right, b2 wrong (a3 out of scope)
    assert figures["last_turn_answered_correct"] == 0.0  # b2 wrong, c1 clarified
    assert figures["last_turn_right"] == round(1 / 3, 4)  # a3 handed off
    assert figures["conversation_right"] == round(1 / 3, 4)
    assert figures["wrong_answer"] == round(1 / 6, 4)
    assert figures["oos_handoff_recall"] == 1.0
    assert figures["rewritten"] == round(1 / 3, 4)  # of a2, a3, b2
    assert figures["by_lang"]["de"]["n_turns"] == 3
