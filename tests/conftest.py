"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL: ``WEGWIJS_TEST_PG`` (default ``postgresql://root@127.0.0.1:5432/test``). The suite makes
its own database next to that one, migrates it once, and empties it between tests. In CI
(``CI=true``) a missing PostgreSQL or Chromium is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.app import create_app
from bot.settings import Settings, load_settings
from cases.db import create_engine, normalise_database_url, session_factory, upgrade_database
from cases.models import Base

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("WEGWIJS_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("WEGWIJS_CHROMIUM", "/usr/bin/chromium")
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_configure(config: pytest.Config) -> None:
    """Keep Argos Translate's folders and our model folder out of the real home directory."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="wegwijs-test-home-"))
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        os.environ[name] = str(base / name.lower())
    os.environ["WEGWIJS_TRANSLATION_DIR"] = str(base / "translation-models")


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: CI must prove the real parts work."""
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


def _pg_reachable() -> bool:
    url = make_url(PG_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=2):
            return True
    except OSError:
        return False


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    if not _pg_reachable():
        unavailable(f"PostgreSQL is not reachable at {PG_URL}")
    name = f"wegwijs_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


async def _truncate_all(url: str) -> None:
    engine = create_async_engine(normalise_database_url(url))
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "wegwijs.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate_all(url))
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(database_url=db_url, secret_key=SECRET, cookie_secure=False, workers=2)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient]:
    """An HTTP client against the whole app on a real loopback port."""
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


@pytest.fixture
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (Debian package 'chromium')")
    return CHROMIUM
