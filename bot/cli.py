"""The `supportbot` command: serve, ingest, index, eval, agents, demo.

Exit codes: 0 done; 1 unexpected failure; 2 wrong usage; 3 no index (or no such version);
4 index built with another model; 5 another ingestion is running; 6 the knowledge base has
errors (nothing was published); 7 quality below the floor given with `--min-*`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bot.config import Settings, get_settings


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic's ValidationError lists each bad setting
        raise click.ClickException(f"invalid settings:\n{exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """supportbot: a support chat that answers from your knowledge base."""


@cli.command()
@click.option("--kb-dir", type=click.Path(path_type=Path), help="Knowledge base [settings].")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
@click.option("--check", is_flag=True, help="Validate and show what would change; publish nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or table; errors only.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def ingest(
    kb_dir: Path | None, index_dir: Path | None, check: bool, quiet: bool, as_json: bool
) -> None:
    """Build a new index version from the knowledge base and publish it."""
    from bot.cli_ingest import run_ingest

    settings = _settings()
    code = run_ingest(
        settings,
        kb_dir=kb_dir or settings.kb_dir,
        index_dir=index_dir or settings.index_dir,
        check=check,
        quiet=quiet,
        as_json=as_json,
    )
    sys.exit(code)


@cli.group()
def index() -> None:
    """List index versions and roll back."""


@index.command("list")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
def index_list(index_dir: Path | None) -> None:
    """One line per version, newest last; `*` marks the published one."""
    from ingest.store import current_version, list_versions

    folder = index_dir or _settings().index_dir
    current = current_version(folder)
    versions = list_versions(folder)
    if not versions:
        click.echo(f"no index versions in {folder}", err=True)
        sys.exit(3)
    for name in versions:
        manifest = json.loads((folder / name / "manifest.json").read_text(encoding="utf-8"))
        counts = manifest.get("counts", {})
        mark = "*" if name == current else " "
        click.echo(
            f"{mark} {name}  {counts.get('articles', '?'):>6} articles "
            f"{counts.get('chunks', '?'):>7} chunks  {manifest.get('model')}"
        )


@index.command("rollback")
@click.argument("version")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
def index_rollback(version: str, index_dir: Path | None) -> None:
    """Publish VERSION again (running servers switch within seconds)."""
    from ingest.store import IndexStoreError, ingest_lock, rollback

    folder = index_dir or _settings().index_dir
    try:
        with ingest_lock(folder):
            rollback(folder, version)
    except IndexStoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"published {version}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `supportbot` script; returns the exit code."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="supportbot",
            standalone_mode=True,
        )
    except SystemExit as exc:
        return _code(exc.code)
    return 0


def _code(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    click.echo(str(code), err=True)
    return 1


@cli.command("eval")
@click.option("--kb-dir", type=click.Path(path_type=Path), help="Knowledge base [settings].")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
@click.option(
    "--questions",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="CSV with question,expected[,lang].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--details",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one JSON line per question here.",
)
@click.option(
    "--tune",
    is_flag=True,
    help="Fit calibration and thresholds on these questions; store with the index.",
)
@click.option(
    "--max-wrong",
    type=float,
    default=0.03,
    show_default=True,
    help="With --tune: the share of wrong answers to stay under.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write a Markdown report with plots into this folder.",
)
@click.option("--no-ingest", is_flag=True, help="Use the published index as it is.")
def eval_command(
    kb_dir: Path | None,
    index_dir: Path | None,
    questions: Path,
    as_json: bool,
    details: Path | None,
    tune: bool,
    max_wrong: float,
    report_dir: Path | None,
    no_ingest: bool,
) -> None:
    """Measure answer quality on a labelled question file."""
    from bot.cli_eval import run_eval

    settings = _settings()
    sys.exit(
        run_eval(
            settings,
            kb_dir=kb_dir or settings.kb_dir,
            index_dir=index_dir or settings.index_dir,
            questions=questions,
            as_json=as_json,
            details=details,
            tune=tune,
            max_wrong=max_wrong,
            report_dir=report_dir,
            ingest_first=not no_ingest,
        )
    )
