"""SQLite statements in the event loop's own thread, for writing transactions and reading
sessions alike (each on an engine of its own: readers never wait for a pool of writers).

SQLAlchemy's asyncio support asks the driver for coroutines; aiosqlite answers each statement
from a thread of its own, and the answer waits for the event loop to come round to it. A
transaction of ten statements held SQLite's write lock for 10 ms under load, most of it
waiting its turn in the loop, and this process's writers take turns (`Database._one_writer`):
100 notes a second was all one process could write, and an alert storm queued behind them.
Here each statement runs at once, in the caller's thread, so a transaction holds the lock for
the time its statements take; one that has held the loop for half a millisecond lets it serve
others (acks) before its next statement. Only a statement that finds the database locked by
another process (SQLITE_BUSY) leaves the thread: it is run again in one that waits for the lock.
Reads, handed to aiosqlite's thread, had cost the same hand-overs: a serve under mixed load
spent 14% more CPU on them than run here.

A commit, though, syncs the write-ahead log to disk: several milliseconds on a busy disk, and
the loop would stop for them. It runs in a thread, and the loop serves acks meanwhile. Copying
the log back into the database file (a checkpoint, a sync of the whole file: tens of
milliseconds) is left to a thread of its own (`Checkpoints`) instead of to whichever commit
finds the log long.

The objects below are the few parts of aiosqlite's interface that SQLAlchemy's aiosqlite
dialect uses (`create_async_engine(..., async_creator=...)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")
log = logging.getLogger(__name__)
CHECKPOINT_SECONDS = 0.5  # how often the log is copied back when there were commits
SLICE_SECONDS = 0.0005  # the longest a transaction's statements hold the loop unbroken


class Checkpoints:
    """A thread that copies the write-ahead log back into the database file (PASSIVE: it never
    waits for, or holds up, a writer or a reader) when commits were made since the last time."""

    def __init__(self, path: str, *, uri: bool) -> None:
        self._path, self._uri = path, uri
        self._commits = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None  # started by the first commit

    def committed(self) -> None:
        self._commits += 1
        if not self._stop.is_set() and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints")
            self._thread.daemon = True
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, uri=self._uri, check_same_thread=False)
        except sqlite3.Error as exc:  # the writers will have said why
            log.warning("no checkpoints: %s", exc)
            return
        seen = 0
        try:
            while not self._stop.wait(CHECKPOINT_SECONDS):
                if self._commits != seen:
                    seen = self._commits
                    self._checkpoint(conn)
            self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # a busy or missing file: the next round tries again
            log.debug("checkpoint skipped: %s", exc)


class Connection:
    """An aiosqlite-shaped connection whose coroutines finish without suspending, unless
    another process holds the write lock or the transaction's slice of the loop is used up."""

    def __init__(
        self, conn: sqlite3.Connection, busy_timeout_ms: int, checkpoints: Checkpoints
    ) -> None:
        self._conn = conn
        self._checkpoints = checkpoints
        self._connection: sqlite3.Connection | None = conn  # SQLAlchemy checks it is open
        self._tx = _Immediate()  # SQLAlchemy sets the isolation level through this queue
        self._busy_timeout_ms = busy_timeout_ms
        self._slice_started = 0.0
        # commits, and statements waiting for another process's lock
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _Opening:
        return _Opening(Cursor(self, self._conn.cursor()))

    async def commit(self) -> None:
        await self._in_thread(self._conn.commit)
        self._checkpoints.committed()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._waiter.shutdown(wait=True)  # nothing runs on the connection while it closes
            self._conn.close()

    async def run(self, call: Callable[[], T]) -> T:
        """`call` now (once the loop has had its turn, if the transaction's slice is used up);
        if another process holds the lock, in a thread that waits for it."""
        await self._share_the_loop()
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
        return await self._in_thread(partial(self._waiting, call))

    async def _share_the_loop(self) -> None:
        """A transaction that has held the loop for a slice lets it serve others (an ack that
        came meanwhile) before its next statement: a note's statements, with the work between
        them, had held the loop for 1-2.6 ms at a time, and acks waited behind them."""
        now = time.perf_counter()
        if not self._conn.in_transaction:
            self._slice_started = now
        elif now - self._slice_started > SLICE_SECONDS:
            await asyncio.sleep(0)
            self._slice_started = time.perf_counter()

    async def _in_thread(self, call: Callable[[], T]) -> T:
        """`call` in the connection's thread. A caller cancelled meanwhile still waits for it to
        finish: the connection must not be closed (or used) while the thread has it."""
        future = asyncio.get_running_loop().run_in_executor(self._waiter, call)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({future})
            raise

    def _waiting(self, call: Callable[[], T]) -> T:
        self._conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms:d}")
        try:
            return call()
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")


class Cursor:
    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    @property
    def description(self) -> Any:
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

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await self._connection.run(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        rows = list(parameters)
        await self._connection.run(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Opening:
    """What `Connection.cursor()` gives: entered with `async with` (or awaited)."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        await self._cursor.close()


class _Immediate:
    """aiosqlite's queue of calls for its thread, run here and now."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, call = item
        try:
            future.set_result(call())
        except Exception as exc:
            future.set_exception(exc)


def engine(
    url: str, *, busy_timeout_ms: int, checkpoints: Checkpoints | None = None, **options: Any
) -> tuple[AsyncEngine, Checkpoints]:
    """An engine on the SQLite file of `url` (sqlite+aiosqlite:///path) whose connections are
    these, and the thread that checkpoints its log (`checkpoints`, when another engine on the
    file has it); a statement that finds the file locked waits up to `busy_timeout_ms` in a
    thread. `options` are the engine's (create_async_engine's)."""
    parsed = make_url(url)
    uri = parsed.query.get("uri") in ("true", "1")
    path = parsed.database or ""
    checkpoints = checkpoints or Checkpoints(path, uri=uri)

    async def connect() -> Connection:
        conn = sqlite3.connect(path, timeout=0, check_same_thread=False, uri=uri)
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoints' thread does it
        return Connection(conn, busy_timeout_ms, checkpoints)

    return create_async_engine(url, async_creator=connect, **options), checkpoints
