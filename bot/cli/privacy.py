"""`supportbot privacy`: one person's data on request (export, delete) and the retention purge.

supportbot privacy export --email anna@example.com > anna.json
supportbot privacy delete --external-id 4711 --yes
supportbot privacy purge --days 180
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from bot.config import Settings


def privacy_command(settings: Callable[[], Settings]) -> click.Group:
    """The command group, reading settings through `settings` (the CLI's checked loader)."""

    @contextmanager
    def session() -> Iterator[Session]:
        from bot.db import Database, create_schema

        db = Database(settings().database_url)
        try:
            create_schema(db.engine)
            with db.session() as unit:
                yield unit
        finally:
            db.dispose()

    def who(email: str | None, external_id: str | None) -> None:
        if bool(email) == bool(external_id):
            raise click.UsageError("give exactly one of --email or --external-id")

    @click.group()
    def privacy() -> None:
        """A customer's data: export, delete; and the retention purge."""

    @privacy.command("export")
    @click.option("--email", help="The customer's e-mail address.")
    @click.option("--external-id", help="The customer's id on the site.")
    def export_command(email: str | None, external_id: str | None) -> None:
        """Print everything stored about the customer as JSON (exit 3: nothing found)."""
        from bot import privacy as data

        who(email, external_id)
        with session() as unit:
            found = data.find(session=unit, email=email, external_id=external_id)
            document = data.export(found)
        click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        if found.empty:
            sys.exit(3)

    @privacy.command("delete")
    @click.option("--email", help="The customer's e-mail address.")
    @click.option("--external-id", help="The customer's id on the site.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def delete_command(email: str | None, external_id: str | None, yes: bool) -> None:
        """Delete the customer, their conversations, packets, feedback and outbox rows."""
        from bot import privacy as data

        who(email, external_id)
        with session() as unit:
            found = data.find(session=unit, email=email, external_id=external_id)
            if found.empty:
                click.echo("nothing stored about this customer", err=True)
                sys.exit(3)
            if not yes:
                click.confirm(
                    f"delete {len(found.conversations)} conversation(s) and "
                    f"{len(found.customers)} customer record(s)?",
                    abort=True,
                )
            counts = data.delete_found(session=unit, found=found)
        click.echo("deleted " + ", ".join(f"{n} {name}" for name, n in counts.items()))

    @privacy.command("purge")
    @click.option(
        "--days",
        type=click.IntRange(1),
        help="Delete conversations untouched for this long [SUPPORTBOT_RETENTION_DAYS].",
    )
    def purge_command(days: int | None) -> None:
        """What the server does hourly when SUPPORTBOT_RETENTION_DAYS is set."""
        from bot import privacy as data
        from bot.models import utcnow

        days = days or settings().retention_days
        if not days:
            raise click.UsageError("give --days or set SUPPORTBOT_RETENTION_DAYS")
        with session() as unit:
            counts = data.purge(session=unit, now=utcnow(), days=days)
        click.echo(
            f"older than {days} days: deleted "
            + ", ".join(f"{n} {name}" for name, n in counts.items())
        )

    return privacy
