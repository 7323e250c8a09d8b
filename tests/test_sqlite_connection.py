"""SQLite connections that make one trip to their thread per statement (cases/sqlite_connection.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from cases.db import create_engine, session_factory, transaction
from cases.models import ArticleEvent
from cases.sqlite_connection import OneTripConnection


@pytest.fixture
async def engine(tmp_path: Path, sqlite_template: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "one-trip.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    await engine.dispose()


async def _trips(engine: AsyncEngine) -> tuple[OneTripConnection, list[str]]:
    """The pooled driver connection, counting the calls it sends to its thread from now on."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
    assert isinstance(driver, OneTripConnection)
    sent: list[str] = []
    original = driver._execute

    async def counted(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(fn, *args, **kwargs)

    driver._execute = counted  # type: ignore[method-assign]
    return driver, sent


async def test_a_select_costs_one_trip(engine: AsyncEngine) -> None:
    _driver, sent = await _trips(engine)
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the transaction's BEGIN goes with the first statement
        sent.clear()
        rows = (await conn.execute(select(ArticleEvent.id, ArticleEvent.kind))).all()
        assert rows == []
        assert sent == ["_run"], f"a SELECT made these trips: {sent}"  # aiosqlite's own cursor: four
        await conn.rollback()


async def test_statements_report_what_sqlite_reports(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        conn = await session.connection()
        many = await conn.execute(
            insert(ArticleEvent), [{"article_id": "pip", "language": "nl", "kind": "shown"}] * 3
        )
        assert many.rowcount == 3
        one = await conn.execute(
            insert(ArticleEvent).values(article_id="z-route", language="ar", kind="helpful")
        )
        assert one.inserted_primary_key == (4,)
        returned = await conn.execute(
            insert(ArticleEvent)
            .values(article_id="b1", language="ti", kind="shown")
            .returning(ArticleEvent.id, ArticleEvent.article_id)
        )
        assert returned.all() == [(5, "b1")]
        changed = await conn.execute(
            update(ArticleEvent).where(ArticleEvent.article_id == "pip").values(kind="helpful")
        )
        assert changed.rowcount == 3
    async with sessions() as session:
        result = await session.execute(select(ArticleEvent.id, ArticleEvent.kind).order_by(ArticleEvent.id))
        assert list(result.keys()) == ["id", "kind"]
        assert result.fetchone() == (1, "helpful")
        assert result.fetchmany(2) == [(2, "helpful"), (3, "helpful")]
        assert result.fetchall() == [(4, "helpful"), (5, "shown")]
        assert await session.scalar(select(func.count()).select_from(ArticleEvent)) == 5


async def test_errors_and_rollback_behave_as_before(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await session.execute(insert(ArticleEvent).values(article_id="pip", language="nl", kind="shown"))
            await session.execute(
                text(
                    "INSERT INTO article_events (id, article_id, language, kind, created_at) "
                    "VALUES (1, 'x', 'nl', 'shown', '2026-01-01')"
                )
            )
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ArticleEvent)) == 0, "rolled back"
