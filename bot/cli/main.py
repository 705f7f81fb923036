"""The `supportbot` command: serve, ingest, index, eval, agents, demo.

Exit codes: 0 done; 1 unexpected failure; 2 wrong usage; 3 no index (or no such version);
4 index built with another model; 5 another ingestion is running; 6 the knowledge base has
errors (nothing was published); 7 quality below the floor given with `--min-*`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bot.cli.privacy import privacy_command
from bot.config import DEFAULT_HOST, DEFAULT_PORT, Settings, get_settings, listen_url
from bot.redact import install_log_redaction
from ingest.cli import ingest_command


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic's ValidationError lists each bad setting
        raise click.ClickException(f"invalid settings:\n{exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """supportbot: a support chat that answers from your knowledge base."""
    install_log_redaction()


# The editors' command lives with ingestion (`python -m ingest` is the same command); here it
# reads the bot's settings, so an invalid bot setting stops it as it stops every command.
cli.add_command(ingest_command(_settings))
cli.add_command(privacy_command(_settings))


@cli.group()
def index() -> None:
    """List index versions and roll back."""


@index.command("list")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
def index_list(index_dir: Path | None) -> None:
    """One line per version, newest last; `*` marks the published one."""
    from ingest.store import current_version, list_versions, read_manifest

    folder = index_dir or _settings().index_dir
    current = current_version(folder)
    versions = list_versions(folder)
    if not versions:
        click.echo(f"no index versions in {folder}", err=True)
        sys.exit(3)
    for name in versions:
        manifest = read_manifest(folder, name)
        counts = manifest.get("counts", {})
        mark = "*" if name == current else " "
        classifier = manifest.get("classifier") or {}
        topics = classifier.get("topics")
        trained = f"classifier: {topics} topics" if topics else "no classifier"
        click.echo(
            f"{mark} {name}  {counts.get('articles', '?'):>6} articles "
            f"{counts.get('chunks', '?'):>7} chunks  {manifest.get('model')}  {trained}"
        )
        if classifier.get("skipped") and name == current:
            click.echo(f"    no classifier: {classifier['skipped']}")


@index.command("rollback")
@click.argument("version", required=False)
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [settings].")
def index_rollback(version: str | None, index_dir: Path | None) -> None:
    """Publish VERSION again, or without it the version before the published one (running
    servers switch within seconds)."""
    from ingest.store import IndexStoreError, ingest_lock, previous_version, rollback

    folder = index_dir or _settings().index_dir
    try:
        with ingest_lock(folder):
            target = version or previous_version(folder)
            rollback(folder, target)
    except IndexStoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"now serving {target}")


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="More than one needs SUPPORTBOT_REDIS_URL (events) and PostgreSQL.",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the widget API, the demo page and the agent console."""
    import uvicorn

    settings = _settings()
    if settings.public_url is None:
        # Links in packets and webhooks must reach this server, wherever it listens; the
        # environment carries the address to every worker uvicorn starts.
        os.environ["SUPPORTBOT_PUBLIC_URL"] = listen_url(host, port)
        get_settings.cache_clear()
        settings = _settings()
        click.echo(
            f"links point to {settings.public_base_url} (set SUPPORTBOT_PUBLIC_URL to change)",
            err=True,
        )
    if workers > 1 and (not settings.redis_url or settings.database_url.startswith("sqlite")):
        raise click.UsageError(
            "--workers > 1 needs SUPPORTBOT_REDIS_URL and a PostgreSQL "
            "SUPPORTBOT_DATABASE_URL (workers must share events and data)"
        )
    uvicorn.run(
        "bot.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
        # X-Forwarded-For is read by the app, and only from SUPPORTBOT_TRUSTED_PROXIES
        # (uvicorn's own handling would trust any local connection)
        proxy_headers=False,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic), then exit.

    Each server also does this as it starts (several at once take turns on PostgreSQL); run it
    on its own before a rolling restart so no worker serves a half-migrated database."""
    from bot.db import Database, create_schema

    db = Database(_settings().database_url)
    try:
        create_schema(db.engine)
    finally:
        db.dispose()
    click.echo("database schema is up to date")


@cli.group()
def agents() -> None:
    """Support agents who log in to the console."""


def _database() -> Any:
    from bot.db import Database, create_schema

    db = Database(_settings().database_url)
    create_schema(db.engine)
    return db


@agents.command("add")
@click.argument("email")
@click.option("--name", required=True, help='Shown to visitors, e.g. "Anna".')
@click.option("--role", type=click.Choice(["agent", "lead"]), default="agent", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
def agents_add(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Add an agent; the password is asked for (or read from stdin) and stored hashed."""
    from bot.agents import AgentError, create_agent

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = _database()
    try:
        with db.session() as session:
            agent = create_agent(
                session=session, email=email, name=name, password=password, role=role
            )
            click.echo(f"added {agent.email} ({agent.name}, {agent.role})")
    except AgentError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        db.dispose()


@agents.command("list")
def agents_list() -> None:
    """One line per agent: email, name, role, presence, last seen."""
    from bot.agents import list_agents

    db = _database()
    try:
        with db.session() as session:
            rows = list_agents(session=session)
            if not rows:
                click.echo("no agents yet: add one with `supportbot agents add EMAIL --name N`")
            for agent in rows:
                seen = "-"
                if agent.last_seen_at:
                    seen = agent.last_seen_at.isoformat(timespec="seconds")
                click.echo(
                    f"{agent.email:<32} {agent.name:<20} {agent.role:<5} "
                    f"{agent.presence:<8} last seen {seen}"
                )
    finally:
        db.dispose()


@agents.command("token")
@click.argument("email")
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
def agents_token(email: str, days: int) -> None:
    """Print a bearer token for the agent API (/api/v1/agent) acting as EMAIL."""
    from bot.agents import get_agent_by_email, issue_api_token
    from bot.models import utcnow

    db = _database()
    try:
        with db.session() as session:
            agent = get_agent_by_email(session=session, email=email)
            if agent is None:
                click.echo(f"error: no agent with the email {email}", err=True)
                sys.exit(2)
            token = issue_api_token(session=session, agent=agent, now=utcnow(), days=days)
        click.echo(token)
    finally:
        db.dispose()


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
    help="CSV with question,expected[,lang]; with a conversation column, multi-turn.",
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
    type=click.FloatRange(0.0, 1.0),
    default=0.03,
    show_default=True,
    help="With --tune: the share of wrong answers to stay under.",
)
@click.option(
    "--min-oos-handoff",
    type=click.FloatRange(0.0, 1.0),
    default=0.9,
    show_default=True,
    help="With --tune: the share of out-of-scope questions (empty expected) to hand off.",
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
    min_oos_handoff: float,
    report_dir: Path | None,
    no_ingest: bool,
) -> None:
    """Measure answer quality on a labelled question file."""
    from bot.cli.eval import run_eval

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
            min_oos_handoff=min_oos_handoff,
            report_dir=report_dir,
            ingest_first=not no_ingest,
        )
    )


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
def demo(host: str, port: int) -> None:
    """Create (or reset) the demo agent and print where to look (development only)."""
    from bot.cli.demo import run_demo

    sys.exit(run_demo(_settings(), host=host, port=port))
