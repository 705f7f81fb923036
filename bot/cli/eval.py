"""`supportbot eval`: build (or reuse) the index, ask every question, print the figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bot.config import Settings
from bot.evaluate import EvalInputError, Evaluator, Outcome, check_expected, read_questions
from bot.evaluate import summarise as summarise_outcomes
from ingest.embed import make_embedder
from ingest.run import run_ingest

EXIT_INPUT = 2


def run_eval(
    settings: Settings,
    *,
    kb_dir: Path,
    index_dir: Path,
    questions: Path,
    as_json: bool,
    details: Path | None,
    tune: bool,
    max_wrong: float,
    min_oos_handoff: float,
    report_dir: Path | None,
    ingest_first: bool,
) -> int:
    if ingest_first:
        code = run_ingest(
            settings, kb_dir=kb_dir, index_dir=index_dir, check=False, quiet=True, as_json=False
        )
        if code:
            return code
    embedder = make_embedder(settings.embedding_model, threads=1)
    try:
        items = read_questions(questions, default_lang="")
        evaluator = Evaluator(settings, embedder, index_dir)
    except EvalInputError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_INPUT
    try:
        check_expected(items, evaluator.retriever, questions)
    except EvalInputError as exc:
        evaluator.close()  # its temporary database must not outlive the command
        click.echo(f"error: {exc}", err=True)
        return EXIT_INPUT
    try:
        outcomes = [evaluator.ask(q) for q in items]
        tuned: dict[str, Any] | None = None
        if tune:
            from bot.tuning import tune_and_store

            try:
                tuned = tune_and_store(
                    evaluator, items, max_wrong=max_wrong, min_oos_handoff=min_oos_handoff
                )
            except ValueError as exc:  # too few or one-sided questions: say so, no traceback
                click.echo(f"error: cannot tune on {questions}: {exc}", err=True)
                return EXIT_INPUT
            outcomes = [evaluator.ask(q) for q in items]
    finally:
        evaluator.close()
    summary = summarise_outcomes(outcomes)
    summary["index_version"] = evaluator.retriever.index.name
    if tuned is not None:
        summary["tuned"] = tuned
    if details:
        details.parent.mkdir(parents=True, exist_ok=True)
        with open(details, "w", encoding="utf-8") as out:
            for outcome in outcomes:
                out.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
    if report_dir:
        from bot.report import write_report

        write_report(report_dir, outcomes, summary, title=f"Quality on {questions.name}")
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _print(summary, outcomes)
    return 0


def _print(summary: dict[str, Any], outcomes: list[Outcome]) -> None:
    table = Table(
        title=f"Answer quality ({summary['n']} questions, index {summary['index_version']})"
    )
    for column in (
        "",
        "n",
        "answered correct",
        "wrong answers",
        "OOS handed off",
        "top-1",
        "top-3",
        "clarify",
        "p50 ms",
    ):
        table.add_column(column, justify="right")
    rows = [("all", summary), *summary["by_lang"].items()]
    for name, f in rows:
        table.add_row(
            name,
            str(f["n"]),
            _pct(f["answered_correct"]),
            _pct(f["wrong_answer"]),
            _pct(f["oos_handoff_recall"]) if f["n_out_of_scope"] else "-",
            _pct(f["top1"]),
            _pct(f["top3"]),
            _pct(f["clarify_rate"]),
            f"{f['latency_ms_p50']:.1f}",
        )
    Console(file=sys.stdout).print(table)
    if "tuned" in summary:
        click.echo(f"tuned thresholds stored with the index: {summary['tuned']['thresholds']}")


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"
