"""The editors' command: `python -m ingest`, which `supportbot ingest` also serves.

Exit codes: 0 done; 1 unexpected failure or invalid settings; 2 wrong usage; 6 the knowledge
base has errors (nothing was published); an index error exits with its `exit_code` (5: another
ingestion is running).

This module stays cheap to import (the `supportbot` command builds its `ingest` from it); the
work is imported when the command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from ingest.settings import IngestSettings


def ingest_command(read_settings: Callable[[], IngestSettings]) -> click.Command:
    """The `ingest` command; `read_settings` gives the settings when it runs (the bot passes
    its own reader: its settings extend `IngestSettings`)."""

    @click.command(name="ingest", context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--kb-dir", type=click.Path(path_type=Path), help="Knowledge base [settings].")
    @click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
    @click.option(
        "--check", is_flag=True, help="Validate and show what would change; publish nothing."
    )
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar or table; errors only.")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
    def command(
        kb_dir: Path | None, index_dir: Path | None, check: bool, quiet: bool, as_json: bool
    ) -> None:
        """Build a new index version from the knowledge base and publish it."""
        from ingest.run import run_ingest

        settings = read_settings()
        code = run_ingest(
            settings,
            kb_dir=kb_dir or settings.kb_dir,
            index_dir=index_dir or settings.index_dir,
            check=check,
            quiet=quiet,
            as_json=as_json,
        )
        sys.exit(code)

    return command


def read_settings() -> IngestSettings:
    """The ingestion settings from `SUPPORTBOT_*` variables and `.env`."""
    try:
        return IngestSettings()
    except Exception as exc:  # pydantic's ValidationError lists each bad setting
        raise click.ClickException(f"invalid settings:\n{exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m ingest`; returns the exit code."""
    try:
        ingest_command(read_settings).main(
            args=list(argv) if argv is not None else None, prog_name="python -m ingest"
        )
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        click.echo(str(exc.code), err=True)
        return 1
    return 0
