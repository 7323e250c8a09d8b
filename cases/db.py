"""Database engine, sessions and schema migrations (SQLite by default, PostgreSQL at scale)."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from cases import sqlite_connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WRITE_OPTION = "wegwijs_write"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def normalise_database_url(url: str) -> str:
    """Return ``url`` with the async driver this app uses; raise ValueError for anything else."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL; use sqlite:///PATH or postgresql://user@host:port/db") from None
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database '{backend}'; use sqlite:///PATH or postgresql://…")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError("an SQLite URL needs a file path, e.g. sqlite:///wegwijs.db")
    return parsed.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine for ``url`` (any accepted form), with SQLite tuned for a web app.

    Database errors never carry the statement's parameters (message texts, names): their
    tracebacks reach the log.
    """
    async_url = normalise_database_url(url)
    if async_url.startswith("sqlite"):
        path = make_url(async_url).database
        assert path is not None  # normalise_database_url refuses SQLite URLs without a file
        engine = create_async_engine(
            async_url, async_creator=sqlite_connection.creator(path, timeout=30), hide_parameters=True
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_no_implicit_begin(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            # Write transactions take the write lock at BEGIN, so two writers never deadlock on a
            # lock upgrade; read-only sessions stay deferred and never block writers (WAL).
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
            )

        return engine
    # No pre-ping: it costs a round trip per checkout; dead connections are invalidated on error instead.
    return create_async_engine(
        async_url, pool_size=10, max_overflow=10, pool_recycle=1800, hide_parameters=True
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The one session factory shape used everywhere."""
    return async_sessionmaker(engine, expire_on_commit=False)


# SQLite has one writer at a time. Within a process, waiting writers queue on an asyncio lock (FIFO)
# instead of sleeping in SQLite's busy handler, which gave second-long tail latencies under load.
_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _write_lock(sessions: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    lock = _sqlite_write_locks.get(bind.sync_engine)
    if lock is None:
        lock = _sqlite_write_locks[bind.sync_engine] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside one write transaction: committed on success, rolled back on error.

    Plain ``sessions()`` are for reading only. Do not nest write transactions.
    """
    lock = _write_lock(sessions) or contextlib.nullcontext()
    async with lock, sessions() as session, session.begin():
        await session.connection(execution_options={WRITE_OPTION: True})
        yield session


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The database's own INSERT for ``table``, which knows ``on_conflict_do_nothing`` (SQLite and
    PostgreSQL both do)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = normalise_database_url(url)
    return cfg


def upgrade_database(url: str, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` (creates the SQLite file if needed)."""
    from alembic import command

    async_url = normalise_database_url(url)
    if async_url.startswith("sqlite"):
        db_path = make_url(async_url).database
        if db_path:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(url), revision)


def downgrade_database(url: str, revision: str = "base") -> None:
    """Run Alembic migrations down to ``revision``."""
    from alembic import command

    command.downgrade(_alembic_config(url), revision)
