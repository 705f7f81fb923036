"""Run the public answer-quality benchmarks end to end and print one Markdown table.

    python -m benchmarks.quality.run [--sets banking77,xsid,...] [--out var/bench] [--quick]

For each set: build the knowledge base and question files (skipped when the data and the
adapters are unchanged), then ``supportbot ingest``, ``supportbot eval --tune`` on the
validation questions (thresholds are chosen there only) and ``supportbot eval`` on the test
questions, each in a subprocess exactly as an editor would run them. Progress and errors go
to stderr; stdout carries only the table, which is also written to ``<out>/quality.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.quality import adapters
from benchmarks.quality.adapters import BuiltSet

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "benchmarks"
DEFAULT_OUT = Path("var/bench")
QUICK_QUESTIONS = 300
STAMP_NAME = "build.json"
EVAL_KEYS = ("answered_correct", "wrong_answer", "oos_handoff_recall", "top1", "top3", "n")
METRIC_LABELS = {
    "top1": "top-1",
    "answered_correct": "answered correct",
    "wrong_answer": "wrong answers",
    "oos_handoff_recall": "out-of-scope handed off",
}
# Sets whose figures also get one row per language (from the eval's ``by_lang``).
LANGUAGE_ROWS = {"covid-qa": ("en", "de"), "xsid-cross": ("de", "da")}


@dataclass(frozen=True)
class Target:
    """A figure a set must reach; ``lang`` None means the whole set."""

    set_name: str
    lang: str | None
    metric: str
    minimum: float

    def label(self) -> str:
        """E.g. ``top-1 ≥ 94 %``."""
        return f"{METRIC_LABELS[self.metric]} ≥ {self.minimum * 100:.0f} %"


TARGETS = (
    Target("banking77", None, "top1", 0.94),
    Target("banking77-oos", None, "answered_correct", 0.80),
    Target("banking77-oos", None, "oos_handoff_recall", 0.70),
    Target("xsid-de", None, "top1", 0.90),
    Target("xsid-da", None, "top1", 0.90),
    Target("covid-qa", "en", "top1", 0.80),
    Target("covid-qa", "de", "top1", 0.75),
)


# How `eval --tune` trades answers against handoffs, per set: the product default (at most 3 %
# wrong answers, 90 % of out-of-scope questions handed off) unless a set's target names
# another operating point. BANKING77-OOS asks for the most in-scope answers while handing off
# at least 70 % of its out-of-scope questions. Aiming exactly at 70 % on validation leaves the
# test figure on either side of it by sampling noise (aimed at 72 %: 80.2 % answered but 69.0 %
# handed off on test), so the thresholds aim at 75 %: of the two figures, the hand-off is the
# one that keeps a wrong confident answer from a customer.
TUNE_OPTIONS: dict[str, tuple[str, ...]] = {
    "banking77-oos": ("--max-wrong", "1", "--min-oos-handoff", "0.75"),
}


class BenchError(Exception):
    """One step of one set failed; the message names the set and what was run."""


def log(message: str) -> None:
    """Progress and errors go to stderr so stdout stays one clean table."""
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- arguments


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.run", description=__doc__)
    parser.add_argument(
        "--sets",
        default=",".join(adapters.ADAPTERS),
        help="comma-separated adapters or sets, e.g. banking77,xsid-de (default: all)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="work and report folder")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the benchmarks folder")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"ask at most {QUICK_QUESTIONS} questions per file (a fast smoke run)",
    )
    parser.add_argument("--supportbot", help="the supportbot executable (default: auto-detect)")
    return parser.parse_args(argv)


def select_sets(spec: str) -> dict[str, list[str]]:
    """Adapter -> the sets to evaluate, from names that are adapters or single sets."""
    owner = {name: key for key, adapter in adapters.ADAPTERS.items() for name in adapter.sets}
    chosen: dict[str, list[str]] = {}
    for name in filter(None, (part.strip() for part in spec.split(","))):
        if name in adapters.ADAPTERS:
            sets = list(adapters.ADAPTERS[name].sets)
        elif name in owner:
            name, sets = owner[name], [name]
        else:
            known = sorted({*adapters.ADAPTERS, *owner})
            raise SystemExit(f"unknown set {name!r}; choose from {', '.join(known)}")
        chosen.setdefault(name, [])
        chosen[name] += [s for s in sets if s not in chosen[name]]
    return chosen


# --------------------------------------------------------------------------- building


def fingerprint(source: Path) -> str:
    """A hash of the adapter code and every data file: a change in either means rebuild."""
    digest = hashlib.sha256(Path(adapters.__file__).read_bytes())
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(source)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_cached(out: Path, sets: Iterable[str], stamp: str) -> list[BuiltSet] | None:
    """The sets as last built, or None when any of them is missing or out of date."""
    built = []
    for name in sets:
        path = out / name / STAMP_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        item = BuiltSet.from_json(data["set"])
        item.directory = out / name
        files = [item.kb_dir, item.question_file("valid"), item.question_file("test")]
        if data.get("fingerprint") != stamp or not all(f.exists() for f in files):
            return None
        built.append(item)
    return built


def build(adapter_name: str, data: Path, out: Path) -> list[BuiltSet]:
    """Build the sets of one adapter unless an up-to-date build is already there."""
    adapter = adapters.ADAPTERS[adapter_name]
    source = data / adapter.source
    if not source.is_dir():
        raise BenchError(f"{adapter_name}: data folder {source} not found")
    stamp = fingerprint(source)
    cached = load_cached(out, adapter.sets, stamp)
    if cached is not None:
        log(f"[{adapter_name}] knowledge base up to date")
        return cached
    log(f"[{adapter_name}] building knowledge base from {source}")
    try:
        built = adapter.build(source, out)
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"{adapter_name}: building from {source} failed: {exc}") from exc
    for item in built:
        record = {"fingerprint": stamp, "set": item.to_json()}
        (item.directory / STAMP_NAME).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return built


def question_files(item: BuiltSet, quick: bool) -> dict[str, Path]:
    """The validation and test files to ask; in quick mode a fixed subsample of each."""
    files = {split: item.question_file(split) for split in ("valid", "test")}
    if not quick:
        return files
    for split, path in files.items():
        sample = adapters.subsample(
            adapters.read_questions(path), QUICK_QUESTIONS, f"quick:{item.name}:{split}"
        )
        files[split] = path.with_name(f"{split}.quick.csv")
        adapters.write_questions(files[split], sample)
    return files


# --------------------------------------------------------------------------- running


def supportbot_command(explicit: str | None) -> list[str]:
    """The supportbot executable: the given one, the one beside this Python, or on PATH."""
    if explicit:
        return shlex.split(explicit)
    beside = Path(sys.executable).parent / "supportbot"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("supportbot")
    if found:
        return [found]
    raise BenchError("supportbot command not found; install the project (pip install -e .)")


def subprocess_env(item: BuiltSet) -> dict[str, str]:
    """The environment of the supportbot commands: offline model loading, and a database of
    the benchmark's own so thousands of test conversations never land in a real one."""
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["SUPPORTBOT_DATABASE_URL"] = f"sqlite:///{(item.directory / 'eval.sqlite3').resolve()}"
    return env


def tail(text: str, lines: int = 15) -> str:
    """The last lines of a command's output: where the reason for a failure usually is."""
    return "\n".join(text.strip().splitlines()[-lines:])


def run_step(set_name: str, command: list[str], env: dict[str, str]) -> str:
    """Run one supportbot command and return its stdout; any failure names set and command."""
    shown = shlex.join(command)
    log(f"[{set_name}] {shown}")
    try:
        proc = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise BenchError(f"{set_name}: could not start `{shown}`: {exc}") from exc
    if proc.returncode != 0:
        output = tail(proc.stderr) or tail(proc.stdout) or "(no output)"
        raise BenchError(
            f"{set_name}: `{shown}` failed with exit code {proc.returncode}:\n{output}"
        )
    return proc.stdout


def parse_eval(set_name: str, command: list[str], stdout: str) -> dict[str, Any]:
    """The JSON object an ``eval --json`` run printed (its last JSON line if it logged more)."""
    candidates = [stdout.strip(), *reversed(stdout.strip().splitlines())]
    for text in candidates:
        if text.startswith("{"):
            try:
                result = json.loads(text)
            except ValueError:
                continue
            missing = [key for key in EVAL_KEYS if key not in result]
            if missing:
                break
            return dict(result)
    raise BenchError(
        f"{set_name}: `{shlex.join(command)}` printed no JSON object with {list(EVAL_KEYS)}:\n"
        f"{tail(stdout) or '(no output)'}"
    )


def evaluate(item: BuiltSet, files: dict[str, Path], supportbot: list[str]) -> dict[str, Any]:
    """Ingest, tune on validation, evaluate on test; returns the test figures."""
    env = subprocess_env(item)
    kb, index = str(item.kb_dir.resolve()), str((item.directory / "index").resolve())
    dirs = ["--kb-dir", kb, "--index-dir", index]
    run_step(item.name, [*supportbot, "ingest", *dirs, "--quiet"], env)
    result: dict[str, Any] = {}
    tune = ["--tune", *TUNE_OPTIONS.get(item.name, ())]
    for split, extra in (("valid", tune), ("test", [])):
        questions = ["--questions", str(files[split].resolve())]
        command = [*supportbot, "eval", *dirs, *questions, *extra, "--json"]
        result = parse_eval(item.name, command, run_step(item.name, command, env))
        (item.directory / f"{split}.json").write_text(json.dumps(result, indent=2), "utf-8")
    return result


# --------------------------------------------------------------------------- report


def figure(result: dict[str, Any] | None, metric: str, lang: str | None = None) -> Any:
    """One figure of an eval result, overall or of one language; None when absent."""
    if result is None:
        return None
    if lang is not None:
        by_lang = result.get("by_lang")
        result = by_lang.get(lang) if isinstance(by_lang, dict) else None
        if not isinstance(result, dict):
            return None
    return result.get(metric)


def percent(value: Any) -> str:
    """A fraction as ``93.4 %``; a dash when the figure does not exist."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return f"{value * 100:.1f} %"
    return "–"


def target_cells(name: str, lang: str | None, result: dict[str, Any] | None) -> tuple[str, str]:
    """The target and verdict cells of one table row."""
    targets = [t for t in TARGETS if t.set_name == name and t.lang == lang]
    per_language = lang is None and any(t.set_name == name and t.lang for t in TARGETS)
    labels = "; ".join(t.label() for t in targets) or (
        "per language below" if per_language else "report only"
    )
    if result is None:
        return labels, "failed"
    if not targets:
        return labels, ""
    verdicts = []
    for target in targets:
        value = figure(result, target.metric, lang)
        ok = isinstance(value, int | float) and value >= target.minimum
        verdicts.append("met" if ok else "**missed**")
    return labels, "; ".join(verdicts)


def table_row(
    name: str, item: BuiltSet | None, result: dict[str, Any] | None, lang: str | None = None
) -> str:
    """One Markdown row: a whole set, or one language of it."""
    label = f"{name} ({lang})" if lang else name
    n = figure(result, "n", lang)
    has_oos = item is None or item.questions.get("test_oos", 0) > 0
    oos = figure(result, "oos_handoff_recall", lang) if has_oos else None
    target, verdict = target_cells(name, lang, result)
    cells = [
        label,
        str(n) if n is not None else "–",
        percent(figure(result, "top1", lang)),
        percent(figure(result, "answered_correct", lang)),
        percent(figure(result, "wrong_answer", lang)),
        percent(oos),
        target,
        verdict,
    ]
    return "| " + " | ".join(cells) + " |"


def render_table(
    order: Sequence[str], built: dict[str, BuiltSet], results: dict[str, dict[str, Any] | None]
) -> str:
    """The report table, one row per set plus per-language rows where targets need them."""
    header = [
        "| set | n | top-1 | answered correct | wrong answers | out-of-scope handed off "
        "| target | verdict |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    rows = []
    for name in order:
        item, result = built.get(name), results.get(name)
        rows.append(table_row(name, item, result))
        if result is not None:
            rows.extend(table_row(name, item, result, lang) for lang in LANGUAGE_ROWS.get(name, ()))
    return "\n".join(header + rows)


def write_report(out: Path, table: str, quick: bool) -> Path:
    """Write the table to ``<out>/quality.md`` with a line saying how it was made."""
    note = f"Quick run: at most {QUICK_QUESTIONS} questions per file." if quick else "Full run."
    path = out / "quality.md"
    path.write_text(f"# Answer quality on public benchmarks\n\n{note}\n\n{table}\n", "utf-8")
    return path


# --------------------------------------------------------------------------- main


def run_adapter(
    adapter_name: str,
    sets: list[str],
    args: argparse.Namespace,
    built: dict[str, BuiltSet],
    results: dict[str, dict[str, Any] | None],
) -> bool:
    """Build and evaluate the chosen sets of one adapter; False when anything failed."""
    ok = True
    try:
        items = {item.name: item for item in build(adapter_name, args.data, args.out)}
    except BenchError as exc:
        log(f"error: {exc}")
        results.update(dict.fromkeys(sets))
        return False
    for name in sets:
        built[name] = items[name]
        try:
            files = question_files(items[name], args.quick)
            results[name] = evaluate(items[name], files, supportbot_command(args.supportbot))
        except BenchError as exc:
            log(f"error: {exc}")
            results[name] = None
            ok = False
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 when every set ran (whether or not it met its target)."""
    args = parse_args(argv)
    chosen = select_sets(args.sets)
    args.out.mkdir(parents=True, exist_ok=True)
    built: dict[str, BuiltSet] = {}
    results: dict[str, dict[str, Any] | None] = {}
    ok = True
    for adapter_name, sets in chosen.items():
        ok = run_adapter(adapter_name, sets, args, built, results) and ok
    order = [name for sets in chosen.values() for name in sets]
    table = render_table(order, built, results)
    print(table)
    log(f"report written to {write_report(args.out, table, args.quick)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
