"""What every benchmark needs: a fresh database of the chosen kind, and percentiles."""

from __future__ import annotations

import asyncio
import os
import tempfile

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from cases.db import normalise_database_url, upgrade_database

DEFAULT_PG = os.environ.get("WEGWIJS_TEST_PG", "postgresql://root@127.0.0.1:5432/test")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _fresh_pg_database(base: str, name: str) -> str:
    admin = create_async_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def fresh_database(choice: str, pg_base: str = DEFAULT_PG) -> str:
    """A migrated, empty database: ``sqlite`` (a temporary file), ``postgresql`` (new db), or a URL."""
    if choice == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    elif choice == "postgresql":
        url = asyncio.run(_fresh_pg_database(pg_base, f"wegwijs_bench_{os.getpid()}"))
    else:
        url = choice
    upgrade_database(url)
    return url
