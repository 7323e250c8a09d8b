"""What every benchmark needs: a fresh database of the chosen kind, and percentiles."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from cases.db import normalise_database_url, upgrade_database
from cases.models import ChannelIdentity, Conversation, Participant, utcnow

DEFAULT_PG = os.environ.get("WEGWIJS_TEST_PG", "postgresql://root@127.0.0.1:5432/test")


def machine() -> str:
    """What the benchmark ran on, for its JSON result."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def append_result(path: Path, record: dict[str, Any]) -> None:
    """Add one run's result to the JSON list at ``path`` (git ignores ``benchmarks/results/``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*existing, record], indent=2, default=str))


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


LANGS = ("nl", "ar", "ti", "fa", "tr", "uk", "so", "en")


async def insert_linked_people(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    channel: Callable[[int], str],
    extra: Callable[[int], dict[str, Any]] = lambda _: {},
    last_message_at: Callable[[int], dt.datetime] | None = None,
) -> None:
    """Participants with these ids, each with a consented, linked chat and its conversation
    (explicit ids: the caller moves PostgreSQL's sequences on afterwards)."""
    now = utcnow()
    await session.execute(
        Participant.__table__.insert(),
        [
            {
                "id": i,
                "reference": f"WW-{i:06d}",
                "first_name": "Deelnemer",
                "last_name": str(i),
                "preferred_language": LANGS[i % len(LANGS)],
                "target_group": "statushouder",
                "wet_regime": "Wi2021",
                "created_at": now,
                "updated_at": now,
                **extra(i),
            }
            for i in ids
        ],
    )
    await session.execute(
        ChannelIdentity.__table__.insert(),
        [
            {
                "id": i,
                "channel": channel(i),
                "external_id": f"bench-{i}",
                "language": LANGS[i % len(LANGS)],
                "consent_given_at": now,
                "participant_id": i,
                "linked_at": now,
                "link_failures": 0,
                "created_at": now,
            }
            for i in ids
        ],
    )
    await session.execute(
        Conversation.__table__.insert(),
        [
            {
                "id": i,
                "identity_id": i,
                "participant_id": i,
                "state": {"step": "menu"},
                "started_at": now,
                "last_message_at": last_message_at(i) if last_message_at else now,
            }
            for i in ids
        ],
    )


async def move_sequences_on(session: AsyncSession, tables: Sequence[str]) -> None:
    """After inserts with explicit ids, PostgreSQL's sequences must continue after them."""
    for table in tables:
        assert table.isidentifier()
        await session.execute(
            text(  # table names are constants of the caller, checked above
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
        )
