"""`supportbot eval` on a tiny knowledge base with the hash embedder."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import get_settings
from bot.policy import Policy
from ingest.store import current_version, load_version, write_calibration
from tests.kb_factory import write_tiny_kb

QUESTIONS = [
    ("how do i send something back", "en/returns", "en"),
    ("can i return my jacket", "en/returns", "en"),
    ("is the return label free", "en/returns", "en"),
    ("return within 30 days", "en/returns", "en"),
    ("where is my parcel", "en/tracking", "en"),
    ("how do i track my order", "en/tracking", "en"),
    ("when does the tracking link arrive", "en/tracking", "en"),
    ("which payment methods do you accept", "en/payment", "en"),
    ("can i pay with paypal", "en/payment", "en"),
    ("do you take amex", "en/payment", "en"),
    ("when is the store open", "en/stores", "en"),
    ("opening hours flensburg", "en/stores", "en"),
    ("wie schicke ich etwas zurück", "de/returns", "de"),
    ("kann ich meine jacke zurückgeben", "de/returns", "de"),
    ("ist das etikett kostenlos", "de/returns", "de"),
    ("wo ist mein paket", "de/tracking", "de"),
    ("wie verfolge ich meine bestellung", "de/tracking", "de"),
    ("link zur sendungsverfolgung", "de/tracking", "de"),
    ("do you sell kayaks", "", "en"),
    ("can you repair my bicycle", "", "en"),
    ("what is the weather tomorrow", "", "en"),
    ("verkauft ihr fahrräder", "", "de"),
    ("habt ihr angelruten", "", "de"),
    ("is there a cinema nearby", "", "en"),
]
FIGURES = {"answered_correct", "wrong_answer", "oos_handoff_recall", "top1", "top3",
           "clarify_rate", "n", "by_lang"}
DETAIL_KEYS = {"question", "expected", "lang", "kind", "article_id", "confidence",
               "top_articles", "latency_ms"}


@pytest.fixture
def hash_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The command reads its settings from the environment, once (cached)."""
    monkeypatch.setenv("SUPPORTBOT_EMBEDDING_MODEL", "hash-64")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    monkeypatch.chdir(tmp_path)  # no stray .env, nothing written into the work tree
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def kb(tmp_path: Path) -> tuple[Path, Path]:
    return write_tiny_kb(tmp_path / "kb"), tmp_path / "index"


def write_questions(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["question", "expected", "lang"])
        writer.writerows(rows)
    return path


def run_eval(kb: tuple[Path, Path], questions: Path, *args: str) -> Result:
    kb_dir, index_dir = kb
    return CliRunner().invoke(cli, ["eval", "--kb-dir", str(kb_dir), "--index-dir",
                                    str(index_dir), "--questions", str(questions), *args])


@pytest.mark.usefixtures("hash_settings")
def test_json_figures(kb: tuple[Path, Path], tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", QUESTIONS)

    result = run_eval(kb, questions, "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary.keys() >= FIGURES
    assert summary["n"] == len(QUESTIONS)
    assert set(summary["by_lang"]) == {"en", "de"}
    assert summary["by_lang"]["de"]["n"] == sum(1 for q in QUESTIONS if q[2] == "de")
    for name in FIGURES - {"n", "by_lang"}:
        assert 0.0 <= summary[name] <= 1.0, name
    assert summary["top3"] >= summary["top1"] > 0.5
    assert summary["index_version"] == current_version(kb[1])


@pytest.mark.usefixtures("hash_settings")
def test_details_are_one_json_line_per_question(kb: tuple[Path, Path], tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", QUESTIONS)
    details = tmp_path / "out" / "details.jsonl"

    result = run_eval(kb, questions, "--json", "--details", str(details))

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [line["question"] for line in lines] == [q[0] for q in QUESTIONS]
    for line, (_, expected, lang) in zip(lines, QUESTIONS, strict=True):
        assert line.keys() >= DETAIL_KEYS
        assert (line["expected"], line["lang"]) == (expected, lang)
        assert line["kind"] in ("answer", "clarify", "handoff")
        assert line["latency_ms"] >= 0
        assert len(line["top_articles"]) <= 5
    where = next(line for line in lines if line["question"] == "where is my parcel")
    assert (where["kind"], where["article_id"]) == ("answer", "en/tracking")


@pytest.mark.usefixtures("hash_settings")
def test_an_unknown_expected_id_names_the_line(kb: tuple[Path, Path], tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", [
        ("where is my parcel", "en/tracking", "en"),
        ("can i return my jacket", "en/no-such-article", "en"),
    ])

    result = run_eval(kb, questions, "--json")

    assert result.exit_code == 2
    assert f"{questions}:3: unknown article id 'en/no-such-article'" in result.stderr
    assert result.stdout == ""


@pytest.mark.usefixtures("hash_settings")
def test_a_file_without_the_columns_is_refused(kb: tuple[Path, Path], tmp_path: Path) -> None:
    questions = tmp_path / "bad.csv"
    questions.write_text("text,answer\nwhere is my parcel,en/tracking\n", encoding="utf-8")

    result = run_eval(kb, questions)

    assert result.exit_code == 2
    assert f"{questions}:1:" in result.stderr


@pytest.mark.usefixtures("hash_settings")
def test_tune_stores_the_calibration_with_the_index(kb: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", QUESTIONS)

    result = run_eval(kb, questions, "--json", "--tune")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    index_dir = kb[1]
    data = load_version(index_dir).calibration()
    assert data is not None
    assert summary["tuned"]["thresholds"] == data["thresholds"]
    assert 0.0 < data["thresholds"]["clarify"] <= data["thresholds"]["answer"] < 1.0
    policy = Policy.from_calibration(data)
    assert policy.thresholds.answer == data["thresholds"]["answer"]
    assert dict(policy.calibration.coef) == data["calibration"]["coef"]


@pytest.mark.usefixtures("hash_settings")
def test_tune_on_too_few_questions_says_why(kb: tuple[Path, Path], tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", QUESTIONS[:5])

    result = run_eval(kb, questions, "--tune")

    assert result.exit_code == 2
    assert "tuning needs at least 20 questions" in result.stderr
    index_dir = kb[1]
    assert load_version(index_dir).calibration() is None


@pytest.mark.usefixtures("hash_settings")
def test_a_failed_tuning_leaves_the_earlier_calibration_serving(kb: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "q.csv", QUESTIONS[:5])
    assert run_eval(kb, questions).exit_code == 0  # builds the index
    version = load_version(kb[1])
    earlier = {"thresholds": {"answer": 0.9, "clarify": 0.5}, "weights": {"vote": 0.0}}
    write_calibration(version.path, earlier)

    result = run_eval(kb, questions, "--tune", "--no-ingest")

    assert result.exit_code == 2
    assert load_version(kb[1]).calibration() == earlier
