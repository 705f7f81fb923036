"""Engine and sessions. SQLite (default, under `var/`) or PostgreSQL, same code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Base

SQLITE_BUSY_SECONDS = 30
# The execution option that marks a connection's transactions as read-only (see `make_engine`).
READ_ONLY = "supportbot_read_only"


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: SQLite gets WAL and a busy timeout so the server's threads
    and a CLI can share the file.

    On SQLite every transaction that may write starts with `BEGIN IMMEDIATE`: it takes the
    database's write lock before its first read, so two writers to one conversation queue up
    (for up to `SQLITE_BUSY_SECONDS`) instead of both reading the same `last_seq` and one of
    them failing on the unique sequence number. (`SELECT ... FOR UPDATE`, PostgreSQL's row
    lock, is a no-op on SQLite; and the sqlite3 module's own deferred `BEGIN`, sent only
    before the first write, let the reads of a turn happen outside its transaction.)
    Connections with the `READ_ONLY` execution option begin a plain deferred transaction, a
    consistent snapshot that never waits for a writer."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLAlchemy, not the driver, says where a transaction begins (`_begin` below).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    # A server that is down must fail a request within seconds, not hang it (503, then the
    # pool reconnects by itself once the server is back).
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )


def create_schema(engine: Engine) -> None:
    """Bring the schema up to date with Alembic (a fresh database gets every migration)."""
    from bot.migrate import upgrade

    upgrade(engine)


def drop_schema(engine: Engine) -> None:
    """For tests: remove every table, including Alembic's bookkeeping."""
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


class Database:
    """The engine plus a session factory; one per app."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads: on SQLite it does not wait for (or hold up) a
        writer. Writing in it may fail on SQLite when another writer got in first."""
        # Closing returns the connection, which ends the transaction; objects read stay
        # loaded (a rollback would expire them).
        with self._readers() as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.execution_options(**{READ_ONLY: True}).connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
