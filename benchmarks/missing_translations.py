"""Answers from another language's article: the sample knowledge base with some topics missing
in German or Danish, and the questions about them asked in the missing language.

    python -m benchmarks.missing_translations [--model multilingual-e5-small]
        [--out var/bench/missing-translations.json] [--work var/bench/missing-translations]

Issue 12: "When the answering article exists only in another language, the bot answers from
it (cross-lingual retrieval) and says in the visitor's language which language the article
is in." The sample knowledge base has every topic in all three languages, so `supportbot
eval` on it never meets that case. This benchmark removes the German version of every third
topic and the Danish version of the next third (English stays whole), then asks:

- the German and Danish questions of `benchmarks/questions/sample-kb.csv` about the removed
  versions, with the expected article rewritten to the topic's English version (the eval
  counts any language version of the right topic as right);
- every German and Danish out-of-scope question (they must still be handed off).

Both sets run twice with the model's shipped calibration, once on the whole knowledge base
(the same questions answered in their own language) and once on the one with gaps. Prints a
Markdown table and writes the figures as JSON; `--work` keeps the knowledge base, the indexes
and each question's `--details` line for a look at what went wrong.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.quality.run import parse_eval, run_step, supportbot_command

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KB = PROJECT_ROOT / "kb_docs"
QUESTIONS = PROJECT_ROOT / "benchmarks" / "questions" / "sample-kb.csv"
GAP_LANGUAGES = ("de", "da")  # English stays whole: the language every topic falls back to
FIELDS = ("question", "expected", "lang")


def topics(kb: Path) -> list[str]:
    """The article topics every language writes as a file of its own (not FAQ rows)."""
    names = [
        {p.stem for p in (kb / lang).iterdir() if p.is_file()} for lang in ("en", *GAP_LANGUAGES)
    ]
    return sorted(set.intersection(*names))


def gaps(names: Sequence[str]) -> dict[str, set[str]]:
    """Which topics lose which language: every third topic its German version, the next
    third its Danish one, so no topic loses both and each language loses a third."""
    return {
        lang: {n for i, n in enumerate(names) if i % 3 == k} for k, lang in enumerate(GAP_LANGUAGES)
    }


def make_kb(source: Path, target: Path, removed: dict[str, set[str]]) -> None:
    shutil.copytree(source, target)
    for lang, names in removed.items():
        for path in (target / lang).iterdir():
            if path.stem in names:
                path.unlink()


def question_sets(path: Path, removed: dict[str, set[str]]) -> dict[str, list[dict[str, str]]]:
    """`cross`: questions about a removed version, once as labelled and once with the English
    version expected; `oos`: the German and Danish out-of-scope questions."""
    rows = list(csv.DictReader(path.read_text("utf-8").splitlines()))
    cross, cross_en, oos = [], [], []
    for row in rows:
        lang, expected = row["lang"], row["expected"].strip()
        if lang not in removed:
            continue
        if not expected:
            oos.append({k: row[k] for k in FIELDS})
            continue
        ids = expected.split("|")
        if any(i.startswith(f"{lang}/") and i.split("/", 1)[1] in removed[lang] for i in ids):
            names = {i.split("/", 1)[1] for i in ids if "/" in i}
            cross.append({k: row[k] for k in FIELDS})
            cross_en.append({**cross[-1], "expected": "|".join(f"en/{n}" for n in sorted(names))})
    return {"cross": cross, "cross_en": cross_en, "oos": oos}


def write_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(kb: Path, work: Path, files: dict[str, Path], model: str, name: str) -> dict[str, Any]:
    """Ingest `kb` with `model` into `work` and evaluate each question file on it."""
    supportbot = supportbot_command(None)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SUPPORTBOT_EMBEDDING_MODEL": model,
        "SUPPORTBOT_DATABASE_URL": f"sqlite:///{work / 'eval.sqlite3'}",
    }
    dirs = ["--kb-dir", str(kb), "--index-dir", str(work / "index")]
    run_step(name, [*supportbot, "ingest", *dirs, "--quiet"], env)
    results = {}
    for key, questions in files.items():
        details = work / f"{key}.details.jsonl"
        command = [
            *supportbot,
            "eval",
            *dirs,
            "--no-ingest",
            "--questions",
            str(questions),
            "--details",
            str(details),
            "--json",
        ]
        results[key] = parse_eval(name, command, run_step(name, command, env))
        results[key]["other_language_answers"] = _other_language(details)
    return results


def _other_language(details: Path) -> int:
    """Answers from an article in another language than the question's."""
    count = 0
    for line in details.read_text("utf-8").splitlines():
        row = json.loads(line)
        article = row.get("article_id") or ""
        if row.get("kind") == "answer" and not article.startswith(f"{row.get('lang')}/"):
            count += 1
    return count


def render(record: dict[str, Any]) -> str:
    def pct(value: float) -> str:
        return f"{100 * value:.1f} %"

    lines = [
        f"Missing translations, {record['model']}: {record['n_cross']} questions about a topic "
        f"missing in their language, {record['n_oos']} out-of-scope questions (de, da).",
        "",
        "| knowledge base | answered correctly | wrong | not answered | OOS handed off |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("whole", "whole"), ("with gaps", "gaps")):
        cross, oos = record[key]["cross"], record[key]["oos"]
        lines.append(
            f"| {label} | {pct(cross['answered_correct'])} | {pct(cross['wrong_answer'])} | "
            f"{pct(1 - cross['answered_correct'] - cross['wrong_answer'])} | "
            f"{pct(oos['oos_handoff_recall'])} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "var/bench/missing-translations.json"
    )
    parser.add_argument(
        "--work", type=Path, default=PROJECT_ROOT / "var/bench/missing-translations"
    )
    args = parser.parse_args(argv)
    removed = gaps(topics(KB))
    sets = question_sets(QUESTIONS, removed)
    root = args.work.resolve()
    shutil.rmtree(root, ignore_errors=True)
    make_kb(KB, root / "kb", removed)  # creates `root`
    files = {}
    for name, cross in (("whole", sets["cross"]), ("gaps", sets["cross_en"])):
        (root / name).mkdir()
        files[name] = {
            "cross": write_csv(root / name / "cross.csv", cross),
            "oos": write_csv(root / name / "oos.csv", sets["oos"]),
        }
    record: dict[str, Any] = {
        "model": args.model,
        "removed": {lang: sorted(names) for lang, names in removed.items()},
        "n_cross": len(sets["cross"]),
        "n_oos": len(sets["oos"]),
        "whole": run(KB, root / "whole", files["whole"], args.model, "whole"),
        "gaps": run(root / "kb", root / "gaps", files["gaps"], args.model, "gaps"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2), "utf-8")
    print(render(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
