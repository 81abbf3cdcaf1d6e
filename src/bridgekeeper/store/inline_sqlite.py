"""SQLite in the event loop's own thread, for SQLAlchemy's async engine.

SQLAlchemy's async SQLite dialect drives aiosqlite, which gives each connection a thread: every
statement then takes three or four hops between threads, each waiting for the GIL, which the
event loop holds while it serves requests. bridgekeeper's statements take microseconds, so they
run where they are asked for, behind aiosqlite's interface: `connector()` is the engine's
`async_creator`, and an `await` on a statement never suspends.

Nothing here ever waits for another connection of the same process: readers don't wait in WAL
mode, and the process's writers take turns before they begin (`Database._one_writer`). Only
another process's write transaction makes a writer wait, through SQLite's busy timeout, and
those are as short as these.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite


def connector(url: str, **connect_args: Any) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for `create_async_engine`: the URL's database, opened inline."""
    args, options = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
    options = {**options, **connect_args, "check_same_thread": False}
    connect: Callable[..., sqlite3.Connection] = sqlite3.connect

    async def open_inline() -> InlineConnection:
        return InlineConnection(connect(*args, **options))

    return open_inline


class _RunNow:
    """Where aiosqlite queues work for its thread (SQLAlchemy sets the isolation level through
    it): the work is done at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, work = item
        try:
            future.set_result(work())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """aiosqlite.Connection's interface, as SQLAlchemy uses it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # None once closed
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


class InlineCursor:
    """aiosqlite.Cursor's interface, as SQLAlchemy uses it."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self.__aenter__().__await__()

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Sequence[Any] | None:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value
