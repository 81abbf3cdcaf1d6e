"""The engine, transactions and schema upgrades, for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, event, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.orm import ORMExecuteState, Session

from bridgekeeper import metrics
from bridgekeeper.config import DatabaseSettings, redact_url
from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.store import schema
from bridgekeeper.store.engines import READING, inline_engine, make_engine, short_engine
from bridgekeeper.store.group_commit import Failed, GroupCommit
from bridgekeeper.store.statements import share_compiled
from bridgekeeper.store.turns import LONG, SHORT, WriterTurns

log = logging.getLogger(__name__)
# The unit of work services are handed: only store/ knows it is SQLAlchemy's.
DbSession = AsyncSession
# A connection for Core statements run in one go (Database.run_in_transaction, run_together).
DbConnection = Connection
# Raised when a row would repeat one a unique constraint allows once.
DuplicateRow = IntegrityError
# Anything the database or its driver raised (unreachable, refused, a failed statement).
DatabaseError = SQLAlchemyError
T = TypeVar("T")
W = TypeVar("W")
UPGRADE_LOCK = 0x6272_6B70  # PostgreSQL advisory lock id for schema upgrades ("brkp")
UPGRADE_POLL_SECONDS = 0.2  # how often a replica asks whether another's upgrade is over
NOTIFY = "bridgekeeper_notify"  # session.info key: run the on_commit callbacks after commit
QUEUED = "bridgekeeper_queued"  # session.info key: rows to insert before the next statement
_OPEN = ContextVar("bridgekeeper_transaction_open", default=False)
_TURN: ContextVar[object | None] = ContextVar("bridgekeeper_writer_turn", default=None)


def in_transaction() -> bool:
    """Whether the current task has a writing transaction open. Slack is never called then:
    the rows it locked would stay locked for as long as Slack takes to answer."""
    return _OPEN.get()


@asynccontextmanager
async def _marked_open() -> AsyncIterator[None]:
    token = _OPEN.set(True)
    try:
        yield
    finally:
        _OPEN.reset(token)


def failure_reason(exc: BaseException) -> str:
    """The driver's own first line (what SQLAlchemy wraps), else the exception's name."""
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]
    return first[0] if first and first[0] else type(exc).__name__


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once this session's transaction has committed (not if it rolls back)."""
    event.listen(session.sync_session, "after_commit", lambda _session: callback(), once=True)


def notify_on_commit(session: AsyncSession) -> None:
    """Run the database's on_commit callbacks once this session's transaction commits."""
    session.info[NOTIFY] = True


def queue_row(session: AsyncSession, table: Table, row: dict[str, Any]) -> None:
    """Insert `row` into `table` in this session's transaction, before its next statement or
    its commit, with the other rows queued meanwhile: one INSERT for them all, and no object
    for the ORM to track (the outbox's effects, several in most transactions)."""
    session.info.setdefault(QUEUED, {}).setdefault(table, []).append(row)


class _WritingSession(Session):
    """The writing sessions: the rows queued are inserted in time (`queue_row`)."""


@event.listens_for(_WritingSession, "do_orm_execute")
def _before_a_statement(state: ORMExecuteState) -> None:
    _insert_queued(state.session)


@event.listens_for(_WritingSession, "before_commit")
def _insert_queued(session: Session) -> None:
    queued: dict[Table, list[dict[str, Any]]] = session.info.pop(QUEUED, None) or {}
    for table, rows in queued.items():
        session.connection().execute(insert(table), rows)


@event.listens_for(_WritingSession, "after_soft_rollback")
def _expire_after_rollback(session: Session, _previous: Any) -> None:
    """A savepoint rolled back expires every object, not only those the unit of work changed:
    Core statements wrote some of them (a timeline entry's incident, `store.incidents.append`)."""
    session.expire_all()


@event.listens_for(_WritingSession, "after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop(QUEUED, None)


class Database:
    """One engine; `transaction()` gives a session that commits on success."""

    def __init__(self, url: str, tuning: DatabaseSettings | None = None) -> None:
        self.url = url
        tuning = tuning or DatabaseSettings()
        self.engine = make_engine(url, tuning)
        self._inline, self._checkpoints = inline_engine(url)
        # Reading sessions never commit; on SQLite they don't take the write lock either, and
        # run in the event loop's thread as the writers do, on an engine (a pool) of their own.
        # A command's first step (the schema check, an upgrade) opens the file there too:
        # aiosqlite's thread, after a failed open, could answer into an event loop already
        # closed, and print a traceback after the line that says why.
        self._reading = inline_engine(url, self._checkpoints)[0] or self.engine
        self._short = self._inline or (self.engine if self.is_sqlite else short_engine(url, tuning))
        for engine in self.engines:  # before an engine with options is made from one
            share_compiled(engine)
        reading = self._reading.execution_options(**{READING: True})
        self.sessions = async_sessionmaker(reading, expire_on_commit=False)
        self._writing = async_sessionmaker(
            self._inline or self.engine, expire_on_commit=False, sync_session_class=_WritingSession
        )
        self._after_commit: list[Callable[[], None]] = []
        self._turns: tuple[asyncio.AbstractEventLoop, WriterTurns] | None = None
        self._turn_holder: object | None = None  # who holds a `writer_turn`, if anyone
        self._statements_together = GroupCommit(self._write_statements)
        self._sessions_together = GroupCommit(self._write_sessions)

    @property
    def engines(self) -> list[Engine]:
        """Every engine this database runs statements on (to watch them all)."""
        every = (self.engine, self._short, self._inline, self._reading)
        engines = {id(e.sync_engine): e.sync_engine for e in every if e}
        return list(engines.values())

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Called after a committed transaction that asked for it with `notify_on_commit`
        (the outbox worker's wake-up, after a transaction that queued Slack effects)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with (
            metrics.transaction("session"),
            _marked_open(),
            self._one_writer(short=False),
            self._writing() as session,
            session.begin(),
        ):
            yield session
        if session.info.get(NOTIFY):
            self.effects_committed()

    def effects_committed(self) -> None:
        """Run the on_commit callbacks: for Core statements that queued effects
        (`run_in_transaction` leaves it to its caller)."""
        for callback in self._after_commit:
            callback()

    async def run_in_transaction(self, work: Callable[[Connection], T]) -> T:
        """Run synchronous statements (Core, no ORM) in one short writing transaction, the hot
        paths' way (an alert storm's repeats, the outbox worker's bookkeeping). On SQLite it
        runs in the event loop's thread, as every writing transaction does
        (store/inline_sqlite.py). On PostgreSQL the connection is not pinged first (a round trip per
        transaction): one that the server closed fails the work, which is run once more on a
        new connection. `work` must therefore only touch the database."""
        async with _marked_open(), metrics.transaction("statements"):
            return await self._run_work(work)

    async def _run_work(self, work: Callable[[Connection], T]) -> T:
        if self.is_sqlite:
            async with self._one_writer(short=True):
                return await self._run_short(work)
        try:
            return await self._run_short(work)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.info("database connection lost; running the transaction again")
        return await self._run_short(work)

    async def _run_short(self, work: Callable[[Connection], T]) -> T:
        async with self._short.begin() as conn:
            return await conn.run_sync(work)

    async def run_together(self, work: Callable[[Connection], T]) -> T:
        """`run_in_transaction`, sharing the transaction with the work other tasks queued
        meanwhile (group commit): for small bookkeeping writes, such as the outbox worker's
        eight deliveries at a time each marking its effect. The result comes after the
        commit; work that fails is run again alone, so it fails only itself."""
        return cast(T, await self._statements_together.submit(work))

    async def shared_transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work(session)` in a writing transaction. On SQLite it is shared with the work other
        tasks queued meanwhile (group commit), each in a savepoint of its own: work that raises
        is undone alone, and only its caller gets the exception. For many small changes at once
        (a burst of notes): one commit and one turn of the single writer for them all; the
        result, after the commit. `work` must only touch the database, return plain values (an
        ORM object is expired if a later work fails), and register no `after_commit` callback
        (the others' commit would call it even if `work` failed). PostgreSQL has no single
        writer, and a shared transaction there would hold each work's row locks until the
        last: every work runs in a transaction of its own."""
        if not self.is_sqlite:
            return await self._session_alone(work)
        return cast(T, await self._sessions_together.submit(work))

    async def _write_statements(self, works: list[Callable[[Connection], Any]]) -> list[Any]:
        if len(works) > 1:
            with contextlib.suppress(Exception):
                return await self.run_in_transaction(partial(_run_all, works))
        return [await _result_or_failure(self.run_in_transaction, work) for work in works]

    async def _write_sessions(
        self, works: list[Callable[[AsyncSession], Awaitable[Any]]]
    ) -> list[Any]:
        if len(works) > 1:
            try:
                async with self.transaction() as session:
                    return [await self._one_of_shared(session, work) for work in works]
            except Exception as exc:
                log.warning(
                    "a shared transaction failed (%s): its work runs again, one by one",
                    failure_reason(exc),
                )
        return [await _result_or_failure(self._session_alone, work) for work in works]

    async def _one_of_shared(
        self, session: AsyncSession, work: Callable[[AsyncSession], Any]
    ) -> Any:
        """One work of a shared transaction; then the event loop comes round (acks, requests),
        which the works of a batch, one after another, would otherwise hold for milliseconds."""
        result = await _in_savepoint(session, work)
        await self.give_the_loop_a_turn()
        return result

    async def _session_alone(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.transaction() as session:
            return await work(session)

    @asynccontextmanager
    async def writer_turn(self) -> AsyncIterator[None]:
        """On SQLite, a turn of the single writer (its time counted as short transactions')
        held across this task's transactions, and those of the tasks it starts meanwhile: for
        a writer that chooses what to write once its turn has come (the alert intake then
        takes every request that came while it waited). Nothing in it may wait for another
        task's transaction (`run_together`, `shared_transaction`): that one would wait for the
        turn. PostgreSQL has no single writer: nothing is held."""
        if not self.is_sqlite or self._in_held_turn():
            yield
            return
        async with self._one_writer(short=True):
            holder = object()
            self._turn_holder, token = holder, _TURN.set(holder)
            try:
                yield
            finally:
                self._turn_holder = None
                _TURN.reset(token)

    @asynccontextmanager
    async def _one_writer(self, *, short: bool) -> AsyncIterator[None]:
        """On SQLite, this process's writers take turns here, in the event loop, short
        transactions and the others sharing the writer's time (store/turns.py). Left to
        SQLite, a writer that finds the file locked sleeps 1, 2, 5, 10... ms between tries,
        however soon the lock is free; PostgreSQL locks rows, not the database."""
        if not self.is_sqlite or self._in_held_turn():
            yield
            return
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, WriterTurns())
        async with self._turns[1].slot(SHORT if short else LONG):
            yield

    def _in_held_turn(self) -> bool:
        return self._turn_holder is not None and _TURN.get() is self._turn_holder

    async def give_the_loop_a_turn(self) -> None:
        """Between the steps of a long transaction. SQLite's statements run without the event
        loop (store/inline_sqlite.py), so it comes round here; PostgreSQL's each give it one."""
        if self._inline is not None:
            await asyncio.sleep(0)

    async def ping(self) -> bool:
        try:
            async with self._reading.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # any driver error means "not healthy"
            log.warning("database ping failed: %s", type(exc).__name__)
            return False

    async def upgrade(self) -> None:
        current = await self._revision()
        if current == schema.HEAD:  # up to date: every start but the first after an upgrade
            return
        schema.refuse_newer(current)
        if self.is_sqlite:  # one transaction, which holds the file's write lock
            async with (self._inline or self.engine).begin() as conn:
                await conn.run_sync(schema.upgrade)
            return
        # One transaction per migration (some build indexes outside any transaction), so the
        # lock that makes replicas take turns is held by the session, released at the end.
        async with self.engine.connect() as conn:
            try:
                await _take_turn(conn)
                await conn.run_sync(schema.upgrade)
            finally:
                try:
                    await conn.rollback()
                    await conn.execute(text(f"SELECT pg_advisory_unlock({UPGRADE_LOCK})"))
                    await conn.commit()
                except BaseException:
                    await conn.invalidate()  # closed, not pooled: the server lets the lock go
                    raise

    async def check_schema(self) -> None:
        current = await self._revision()
        problem = schema.problem(current)
        if problem is not None:
            raise SchemaOutOfDate(problem, newer=schema.newer(current))

    async def _revision(self) -> str | None:
        async with self._reading.connect() as conn:
            return await conn.run_sync(schema.current_revision)

    async def dispose(self) -> None:
        if self._checkpoints is not None:
            await asyncio.to_thread(self._checkpoints.close)
        for engine in {id(e): e for e in (self.engine, self._short, self._reading)}.values():
            await engine.dispose()

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)})"


def _run_all(works: list[Callable[[Connection], Any]], conn: Connection) -> list[Any]:
    return [work(conn) for work in works]


async def _result_or_failure(run: Callable[[W], Awaitable[Any]], work: W) -> Any:
    try:
        return await run(work)
    except Exception as exc:
        return Failed(exc)


async def _in_savepoint(session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]]) -> Any:
    """`work`'s result, or `Failed` with what it raised once its savepoint is rolled back; the
    rows it queued (`queue_row`) are inserted inside its savepoint, or dropped with it."""
    try:
        async with session.begin_nested():
            result = await work(session)
            await session.run_sync(_insert_queued)
        return result
    except Exception as exc:
        session.info.pop(QUEUED, None)
        return Failed(exc)


async def _take_turn(conn: AsyncConnection) -> None:
    """Wait for the upgrade lock without a transaction open: a replica waiting inside one would
    hold up the other's CREATE INDEX CONCURRENTLY, which waits for every older snapshot."""
    while not await conn.scalar(text(f"SELECT pg_try_advisory_lock({UPGRADE_LOCK})")):
        await conn.commit()
        await asyncio.sleep(UPGRADE_POLL_SECONDS)
    await conn.commit()
