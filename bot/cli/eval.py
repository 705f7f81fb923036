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
from bot.eval_conversations import (
    ask_conversations,
    is_conversation_file,
    read_conversations,
    summarise_conversations,
)
from bot.evaluate import EvalInputError, Evaluator, Outcome, check_expected, read_questions
from bot.evaluate import summarise as summarise_outcomes
from ingest.embed import Embedder, make_embedder
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
    if is_conversation_file(questions):
        if tune:
            click.echo("error: --tune needs a question file, not conversations", err=True)
            return EXIT_INPUT
        return _run_conversations(
            settings, embedder, index_dir, questions, as_json, details, report_dir
        )
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
    sections = "section_correct" in summary  # only when the file labels sections
    columns = ["", "n", "answered correct", "wrong answers", "OOS handed off", "top-1", "top-3"]
    columns += ["section"] if sections else []  # right section (n), of right articles
    for column in (*columns, "clarify", "p50 ms"):
        table.add_column(column, justify="right")
    rows = [("all", summary), *summary["by_lang"].items()]
    for name, f in rows:
        cells = [
            name,
            str(f["n"]),
            _pct(f["answered_correct"]),
            _pct(f["wrong_answer"]),
            _pct(f["oos_handoff_recall"]) if f["n_out_of_scope"] else "-",
            _pct(f["top1"]),
            _pct(f["top3"]),
        ]
        if sections:
            cells.append(
                f"{_pct(f['section_correct'])} ({f['n_section']})" if f.get("n_section") else "-"
            )
        table.add_row(*cells, _pct(f["clarify_rate"]), f"{f['latency_ms_p50']:.1f}")
    Console(file=sys.stdout).print(table)
    if "tuned" in summary:
        click.echo(f"tuned thresholds stored with the index: {summary['tuned']['thresholds']}")


def _run_conversations(
    settings: Settings,
    embedder: Embedder,
    index_dir: Path,
    path: Path,
    as_json: bool,
    details: Path | None,
    report_dir: Path | None,
) -> int:
    """Every conversation of `path`, with follow-ups read in context and without."""
    try:
        dialogues = read_conversations(path)
        evaluator = Evaluator(settings, embedder, index_dir)
    except EvalInputError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_INPUT
    try:
        check_expected([t for d in dialogues for t in d.turns], evaluator.retriever, path)
        outcomes = ask_conversations(evaluator, dialogues)
    except EvalInputError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_INPUT
    finally:
        evaluator.close()
    summary = summarise_conversations(outcomes)
    summary["index_version"] = evaluator.retriever.index.name
    if details:
        details.parent.mkdir(parents=True, exist_ok=True)
        with open(details, "w", encoding="utf-8") as out:
            for mode, items in outcomes.items():
                for outcome in items:
                    line = {"mode": mode, **outcome.to_json()}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
    if report_dir:
        from bot.report import write_report

        turns = outcomes["with_context"]
        write_report(
            report_dir,
            turns,
            {**summarise_outcomes(turns), "index_version": summary["index_version"]},
            title=f"Quality on {path.name}, every turn, follow-ups read in context",
        )
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _print_conversations(summary)
    return 0


def _print_conversations(summary: dict[str, Any]) -> None:
    table = Table(
        title=f"Conversations ({summary['n_conversations']} conversations, "
        f"{summary['n_turns']} turns, index {summary['index_version']})"
    )
    for column in (
        "",
        "context",
        "turns",
        "answered correct",
        "follow-ups",
        "last turn",
        "wrong",
        "OOS handoff",
        "rewritten",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    table.caption = (
        "answered correct: every turn an article answers; follow-ups: turns 2+; last turn: "
        "the last turn of each conversation; context: follow-ups read with the previous "
        "question (no: each turn on its own); rewritten: follow-ups searched with it"
    )
    without, with_ = summary["without_context"], summary["with_context"]
    rows = [("all", without, with_)]
    rows += [(lang, without["by_lang"][lang], with_["by_lang"][lang]) for lang in with_["by_lang"]]
    for name, *modes in rows:
        for label, f in zip(("no", "yes"), modes, strict=True):
            table.add_row(
                name if label == "no" else "",
                label,
                str(f["n_turns"]),
                _pct(f["answered_correct"]),
                _pct(f["follow_up_answered_correct"]),
                _pct(f["last_turn_answered_correct"]),
                _pct(f["wrong_answer"]),
                _pct(f["oos_handoff_recall"]),
                _pct(f["rewritten"]),
            )
    Console(file=sys.stdout).print(table)


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"
