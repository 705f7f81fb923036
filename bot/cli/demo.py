"""`supportbot demo`: what `make run` needs for a first look - a demo agent with a fresh
password, and where to click. Only in development: a production deployment adds its agents
with `supportbot agents add`."""

from __future__ import annotations

import secrets

import click

from bot.agents import create_agent, get_agent_by_email, hash_password
from bot.config import Settings, listen_url
from bot.db import Database, create_schema

DEMO_EMAIL = "demo@fjeldfels.example"


def run_demo(settings: Settings, *, host: str, port: int) -> int:
    if settings.environment == "production":
        click.echo("error: no demo agent in production; use `supportbot agents add`", err=True)
        return 2
    password = secrets.token_urlsafe(9)
    db = Database(settings.database_url)
    try:
        create_schema(db.engine)
        with db.session() as session:
            agent = get_agent_by_email(session=session, email=DEMO_EMAIL)
            if agent is None:
                create_agent(
                    session=session,
                    email=DEMO_EMAIL,
                    name="Demo Agent",
                    password=password,
                    role="lead",
                )
            else:  # a new password every run: nothing stays guessable on a shared laptop
                agent.password_hash = hash_password(password)
    finally:
        db.dispose()
    base = settings.public_url or listen_url(host, port)
    click.echo(f"Demo page:  {base}/demo")
    click.echo(f"Console:    {base}/console  (login {DEMO_EMAIL} / {password})")
    click.echo(f"API docs:   {base}/docs")
    return 0
