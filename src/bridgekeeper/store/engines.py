"""The engines a Database runs on: SQLite's (WAL, writers in turn, synced commits) and
PostgreSQL's (a pool for every transaction and a small one for the hot paths'), and the
start-up check that each can connect."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bridgekeeper.config import DatabaseSettings
from bridgekeeper.store import inline_sqlite

BUSY_TIMEOUT_MS = 30_000  # how long an SQLite writer waits for another process's transaction
READING = "bridgekeeper_reading"  # execution option of the sessions that only read
IDLE_SINCE = "bridgekeeper_idle_since"  # when a pooled connection was given back (monotonic)


def to_json(value: Any) -> str:
    """A JSON column's text. NaN and infinities, which Python's json module reads and writes
    but JSON has not (an alert body a script sent may carry them), are stored as null: on
    SQLite as on PostgreSQL, whose json type refuses them."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def make_engine(url: str, tuning: DatabaseSettings) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, json_serializer=to_json
        )
        serialise_sqlite_writers(engine.sync_engine, busy_timeout_ms=BUSY_TIMEOUT_MS)
        return engine
    engine = create_async_engine(
        url,
        pool_size=tuning.pool_size,
        max_overflow=tuning.max_overflow,
        connect_args={"server_settings": dict(tuning.server_settings)},
        json_serializer=to_json,
    )
    ping_when_idle(engine.sync_engine, tuning.ping_after_idle_seconds)
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it has been idle `idle_seconds` or more
    (as HikariCP's alive-bypass window does): one given back a moment ago is alive, and a ping
    before every transaction was a round trip each. A dead one is replaced before the
    transaction starts, and the pool's older connections with it (as the pre-ping did: a
    server that closed one most likely closed them all)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(IDLE_SINCE, None)  # none: connected just now
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError(str(exc)) from exc  # the others of its time too


def inline_engine(
    url: str, checkpoints: inline_sqlite.Checkpoints | None = None
) -> tuple[AsyncEngine | None, inline_sqlite.Checkpoints | None]:
    """SQLite's writing transactions, run in the event loop's thread (store/inline_sqlite.py);
    None for PostgreSQL, and for an in-memory database (another connection, another database)."""
    if not url.startswith("sqlite") or in_memory(url):
        return None, None
    engine, checkpoints = inline_sqlite.engine(
        url, busy_timeout_ms=BUSY_TIMEOUT_MS, checkpoints=checkpoints, json_serializer=to_json
    )
    serialise_sqlite_writers(engine.sync_engine, busy_timeout_ms=0)
    return engine, checkpoints


def in_memory(url: str) -> bool:
    """An in-memory SQLite database (each connection would open another one)."""
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in url


def short_engine(url: str, tuning: DatabaseSettings) -> AsyncEngine:
    """PostgreSQL's pool for the hot paths' short transactions, which run one at a time or
    two (the intake's batches, the worker's shared bookkeeping). They never ping first (a round
    trip each; `run_in_transaction` retries on a new connection instead), and they only look
    rows up by key, so their plans are kept but never scan a table (`hot_path_server_settings`):
    planning each statement cost about 12% of a storm's throughput."""
    return create_async_engine(
        url,
        pool_size=2,
        max_overflow=2,
        pool_pre_ping=False,
        connect_args={"server_settings": dict(tuning.hot_path_server_settings)},
        json_serializer=to_json,
    )


def serialise_sqlite_writers(engine: Engine, *, busy_timeout_ms: int) -> None:
    """WAL, and BEGIN IMMEDIATE: two writers on one incident queue instead of losing updates.
    Reading sessions begin deferred, so they never wait for (or hold up) a writer. Every commit
    is synced to disk (synchronous=FULL): what was answered as stored survives a power cut,
    not only a crash of the process."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            f"busy_timeout={busy_timeout_ms:d}",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        reading = conn.get_execution_options().get(READING)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


async def ping_url(url: str, *, timeout: float, tuning: DatabaseSettings | None = None) -> None:
    """Connect once and run SELECT 1 (on PostgreSQL, once for each pool, with its run-time
    parameters: one the server does not know is named before anything starts); raises
    DatabaseError, OSError or TimeoutError. A SQLite file is opened in this thread: aiosqlite's
    thread, after a failed open, could answer into an event loop already closed, and print a
    traceback after the one line that says why."""
    tuning = tuning or DatabaseSettings()
    if url.startswith("sqlite"):
        engines = [inline_engine(url)[0] or create_async_engine(url)]
    else:
        engines = [make_engine(url, tuning), short_engine(url, tuning)]
    try:
        async with asyncio.timeout(timeout):
            for engine in engines:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
    finally:
        for engine in engines:
            await engine.dispose()
