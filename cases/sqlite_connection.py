"""SQLite connections whose statements each cost one trip to the connection's thread.

aiosqlite runs every call of the sqlite3 module on a thread of its own, one call per trip: a
SELECT through SQLAlchemy costs four (open a cursor, execute, fetch, close), and each trip costs
the event loop more than SQLite spends on a small statement. Here a statement is executed, fetched
and its cursor closed in a single trip. SQLAlchemy fetches every row of a result at once anyway
(Wegwijs streams no results), so nothing changes for the caller. Transactions, errors and the thread
stay aiosqlite's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

Row = tuple[Any, ...]
_Outcome = tuple[Any, list[Row], int, int | None]  # description, rows, rowcount, lastrowid


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """One statement, start to finish (on the connection's thread)."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class Cursor:
    """The cursor SQLAlchemy's aiosqlite adapter sees: execute makes the trip, the rest is local."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._outcome: _Outcome = (None, [], -1, None)
        self._next = 0

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        return await self._start(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> Cursor:
        return await self._start(sql, parameters, many=True)

    async def _start(self, sql: str, parameters: Any, *, many: bool) -> Cursor:
        self._outcome = await self._connection.run(sql, parameters, many)
        self._next = 0
        return self

    async def fetchone(self) -> Row | None:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        start, self._next = self._next, self._next + (size or self.arraysize)
        return self._outcome[1][start : self._next]

    async def fetchall(self) -> list[Row]:
        start, self._next = self._next, len(self._outcome[1])
        return self._outcome[1][start:]

    async def close(self) -> None:
        self._outcome = (self._outcome[0], [], self._outcome[2], self._outcome[3])

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> int | None:
        return self._outcome[3]


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement."""

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def run(self, sql: str, parameters: Any, many: bool) -> _Outcome:
        """Execute ``sql`` on the connection's thread and bring back everything it produced."""
        return await self._execute(_run, self._conn, sql, parameters, many)


def creator(path: str, *, timeout: float) -> Callable[[], OneTripConnection]:
    """``async_creator`` for SQLAlchemy: a new connection to the database file at ``path``."""

    def create() -> OneTripConnection:
        connection = OneTripConnection(partial(sqlite3.connect, path, timeout=timeout), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for its own: never blocks exit
        return connection

    return create
