"""The editors' view of ingestion, for `python -m ingest` and `supportbot ingest` alike
(progress bar, summary table, exit codes; see `ingest.cli`). The work itself is
`ingest.pipeline.ingest`."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ingest.embed import EmbedderUnavailable, make_embedder
from ingest.load import KnowledgeBaseInvalid
from ingest.pipeline import IngestOptions, IngestReport, ingest
from ingest.settings import IngestSettings
from ingest.store import IndexStoreError

EXIT_INVALID_KB = 6

_STAGES = {"read": "Reading files", "embed": "Embedding chunks", "write": "Writing index"}


def run_ingest(
    settings: IngestSettings,
    *,
    kb_dir: Path,
    index_dir: Path,
    check: bool,
    quiet: bool,
    as_json: bool,
) -> int:
    """Run ingestion and print what happened; returns the exit code."""
    options = IngestOptions(
        kb_dir=kb_dir,
        index_dir=index_dir,
        languages=settings.languages,
        default_language=settings.default_language,
        chunk_size=settings.chunk_size,
        keep_versions=settings.keep_versions,
        batch_size=settings.embedding_batch_size,
        check_only=check,
    )
    err = Console(stderr=True)
    show_progress = not quiet and not as_json and sys.stderr.isatty()
    try:
        embedder = make_embedder(settings.embedding_model)
        if show_progress:
            with _Bar(err) as bar:
                report = ingest(options, embedder, progress=bar.update)
        else:
            report = ingest(options, embedder)
    except KnowledgeBaseInvalid as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) in {kb_dir}; nothing was published.", err=True)
        return EXIT_INVALID_KB
    except IndexStoreError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except EmbedderUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report) | {"up_to_date": report.up_to_date}))
    elif not quiet:
        _summary(Console(), report, check=check)
    return 0


class _Bar:
    """A rich progress bar with one task per stage, shown only on a terminal."""

    def __init__(self, console: Console):
        self.progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(_STAGES.get(stage, stage), total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _summary(console: Console, report: IngestReport, *, check: bool) -> None:
    table = Table(title="Ingestion (check only, nothing published)" if check else "Ingestion")
    table.add_column("")
    table.add_column("count", justify="right")
    for label, value in (
        ("articles", report.articles),
        ("added", len(report.added)),
        ("changed", len(report.changed)),
        ("removed", len(report.removed)),
        ("unchanged", report.unchanged),
        ("chunks embedded", report.chunks_embedded),
        ("chunks reused", report.chunks_reused),
        ("files skipped", len(report.skipped_files)),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for label, ids in (
        ("added", report.added),
        ("changed", report.changed),
        ("removed", report.removed),
    ):
        if ids and len(ids) <= 20:
            console.print(f"{label}: {', '.join(ids)}")
    for lang, topics in report.untranslated.items():
        shown = ", ".join(topics[:10]) + (
            f" and {len(topics) - 10} more" if len(topics) > 10 else ""
        )
        console.print(f"no {lang} version (answered from another language): {shown}")
    if report.rebuilt:
        # Editors must know why a run takes minutes instead of seconds (a new default model).
        what = "the next ingestion embeds every chunk again" if check else "all chunks embedded"
        console.print(f"{what}: {report.rebuilt}")
    if check:
        console.print("check passed: the knowledge base is valid.")
    elif report.published:
        console.print(
            f"published {report.version} in {report.seconds:.1f} s "
            f"(previous: {report.previous or 'none'})"
        )
    else:
        console.print(f"up to date: {report.version} already holds this content.")
