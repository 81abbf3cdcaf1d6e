"""The engine, transactions and schema upgrades, for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bridgekeeper.config import redact_url
from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.resources import shipped_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
UPGRADE_LOCK = 0x6272_6B70  # PostgreSQL advisory lock id for schema upgrades ("brkp")
READING = "bridgekeeper_reading"  # execution option of the sessions that only read
NOTIFY = "bridgekeeper_notify"  # session.info key: run the on_commit callbacks after commit


def notify_on_commit(session: AsyncSession) -> None:
    """Run the database's on_commit callbacks once this session's transaction commits."""
    session.info[NOTIFY] = True


class Database:
    """One engine; `transaction()` gives a session that commits on success."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Reading sessions never commit; on SQLite they don't take the write lock either.
        reading = self.engine.execution_options(**{READING: True})
        self.sessions = async_sessionmaker(reading, expire_on_commit=False)
        self._writing = async_sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list[Callable[[], None]] = []
        self._direct = DirectSQLite.for_url(url)
        self._writer_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Called after a committed transaction that asked for it with `notify_on_commit`
        (the outbox worker's wake-up, after a transaction that queued Slack effects)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._one_writer(), self._writing() as session, session.begin():
            yield session
        if session.info.get(NOTIFY):
            for callback in self._after_commit:
                callback()

    async def run_in_transaction(self, work: Callable[[Connection], T]) -> T:
        """Run synchronous statements (Core, no ORM) in one writing transaction: on SQLite in
        one hop to a thread of its own for the whole transaction (through aiosqlite each
        statement is three or four hops), elsewhere through the async connection."""
        if self._direct is not None:
            async with self._one_writer():
                return await self._direct.run(work)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    @asynccontextmanager
    async def _one_writer(self) -> AsyncIterator[None]:
        """On SQLite, this process's writers take turns here, in the event loop. Left to
        SQLite, a writer that finds the file locked sleeps 1, 2, 5, 10... ms between tries,
        however soon the lock is free; PostgreSQL locks rows, not the database."""
        if not self.is_sqlite:
            yield
            return
        loop = asyncio.get_running_loop()
        if self._writer_lock is None or self._writer_lock[0] is not loop:
            self._writer_lock = (loop, asyncio.Lock())
        async with self._writer_lock[1]:
            yield

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # any driver error means "not healthy"
            log.warning("database ping failed: %s", type(exc).__name__)
            return False

    async def upgrade(self) -> None:
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})"))
            await conn.run_sync(_upgrade)

    async def check_schema(self) -> None:
        async with self.engine.connect() as conn:
            current = await conn.run_sync(_current_revision)
        if current != head_revision():
            raise SchemaOutOfDate(
                f"the database schema is at {current or 'nothing'}, this version needs "
                f"{head_revision()}: run `bridgekeeper db upgrade`"
            )

    async def dispose(self) -> None:
        if self._direct is not None:
            self._direct.close()
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)})"


class DirectSQLite:
    """A synchronous connection to the same SQLite file, used from one thread of its own."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(
            url.replace("sqlite+aiosqlite://", "sqlite://", 1),
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _serialise_sqlite_writers(self.engine)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    @classmethod
    def for_url(cls, url: str) -> DirectSQLite | None:
        in_memory = ":memory:" in url or "mode=memory" in url  # another connection, another db
        return cls(url) if url.startswith("sqlite") and not in_memory else None

    async def run(self, work: Callable[[Connection], T]) -> T:
        def in_transaction() -> T:
            with self.engine.begin() as conn:
                return work(conn)

        return await asyncio.get_running_loop().run_in_executor(self.thread, in_transaction)

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self.engine.dispose()


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _serialise_sqlite_writers(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )


def _serialise_sqlite_writers(engine: Engine) -> None:
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
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        reading = conn.get_execution_options().get(READING)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
