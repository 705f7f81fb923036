"""Run the Alembic migrations from code, so `supportbot serve` and the tests need no alembic.ini
and no working directory: the scripts ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x5B07_0001  # any constant; names supportbot's migration lock in pg_locks


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration not yet applied, on the engine's own connection.

    Several workers starting at once on one PostgreSQL database would each create the tables;
    a transaction-scoped advisory lock lets one migrate while the others wait, then find
    nothing left to do. (SQLite serialises writers itself.)"""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
