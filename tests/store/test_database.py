"""Transactions: readers never wait for a writer, a writer waiting for another process never
stalls the event loop, work run together fails only itself, and only transactions that queued
Slack effects wake the deliverer."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, func, select, text, update
from sqlalchemy.exc import DBAPIError

from bridgekeeper.config import DatabaseSettings
from bridgekeeper.domain.effects import Post
from bridgekeeper.preflight import database_reachable
from bridgekeeper.services import audit
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import outbox
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.engines import ping_url
from bridgekeeper.store.models import Counter, Effect
from bridgekeeper.store.statements import COMPILED
from tests.conftest import copy_database, drop_database
from tests.helpers import add_incident, eventually


async def test_a_read_is_answered_while_a_write_is_open(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.transaction() as writing:
            counter = await writing.get(Counter, "incident")
            assert counter is not None
            counter.value += 1
            await writing.flush()
            async with db.sessions() as reading:  # SQLite: no wait for the write lock
                seen = await asyncio.wait_for(reading.get(Counter, "incident"), timeout=5)
            assert seen is not None and seen.value == 0  # not yet committed
    finally:
        await db.dispose()


async def test_only_a_transaction_that_queued_effects_wakes_the_deliverer(db_url: str) -> None:
    db = Database(db_url)
    woken: list[str] = []
    db.on_commit(lambda: woken.append("woken"))
    try:
        async with db.transaction() as session:
            await session.scalar(select(func.count()).select_from(Counter))
        assert woken == []
        async with db.transaction() as session:
            outbox.enqueue(session, Post(target="triage", text="hello"), now=datetime.now(UTC))
        assert woken == ["woken"]
    finally:
        await db.dispose()


async def test_effects_queued_are_seen_by_the_transaction_and_kept_only_if_it_commits(
    db_url: str,
) -> None:
    """Effects are inserted together, before the transaction's next statement (which sees
    them) or its commit; a transaction that fails leaves none."""
    db = Database(db_url)
    now = datetime.now(UTC)
    statements: list[str] = []

    def seen(conn: Connection, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    try:
        for engine in db.engines:
            event.listen(engine, "before_cursor_execute", seen)
        async with db.transaction() as session:
            for n in range(3):
                outbox.enqueue(
                    session, Post(target="triage", text=f"{n}"), now=now, dedup_key=f"k{n}"
                )
            assert await outbox.queued(session, dedup_key="k2")
        inserts = [s for s in statements if s.startswith("INSERT INTO effects")]
        assert len(inserts) == 1  # the three in one
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                outbox.enqueue(session, Post(target="triage", text="lost"), now=now, dedup_key="k9")
                raise RuntimeError("the command failed")
        async with db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Effect)) == 3
            assert not await outbox.queued(session, dedup_key="k9")
    finally:
        await db.dispose()


async def _orm_add_one(db: Database) -> int:
    async with db.transaction() as session:
        counter = await session.get(Counter, "incident")
        assert counter is not None
        counter.value += 1
        return counter.value


async def _core_add_one(db: Database) -> int:
    return await db.run_in_transaction(_add_one_to_the_counter)


@pytest.mark.parametrize("write", [_core_add_one, _orm_add_one], ids=["statements", "session"])
async def test_a_writer_waiting_for_another_process_leaves_the_event_loop_free(
    db_url: str, write: Callable[[Database], Awaitable[int]]
) -> None:
    """SQLite: writing transactions run in the event loop's thread; when another process holds
    the write lock, the transaction waits for it in a thread, and the loop goes on serving."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    db = Database(db_url)
    other_process = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")
        other_process.execute("UPDATE counters SET value = value + 5 WHERE name = 'incident'")
        writing = asyncio.create_task(write(db))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not writing.done()  # still waiting for the lock, and the loop ticked meanwhile
        assert ticks == 20
        other_process.execute("COMMIT")
        assert await asyncio.wait_for(writing, timeout=10) == 6
    finally:
        other_process.close()
        await db.dispose()


async def test_a_long_transaction_lets_the_loop_serve_others_between_its_statements(
    db_url: str,
) -> None:
    """SQLite's statements run in the event loop's thread; a transaction of many of them lets
    the loop serve others (an ack that came meanwhile) between them, instead of holding it until
    its commit."""
    db = Database(db_url)
    ran: list[int] = []  # statements run, one entry each
    seen: list[int] = []  # how many had run when the loop served the other callback
    try:
        async with db.transaction() as session:
            asyncio.get_running_loop().call_soon(lambda: seen.append(len(ran)))
            for n in range(500):
                await session.execute(text("SELECT 1"))
                ran.append(n)
    finally:
        await db.dispose()
    assert seen and seen[0] < 500  # served while the transaction still had statements to run


async def test_work_run_together_commits_together_and_a_failure_fails_only_itself(
    db_url: str,
) -> None:
    db = Database(db_url)

    def fail(conn: Connection) -> int:
        conn.execute(_ADD_ONE)
        raise ValueError("this work fails")

    try:
        results = await asyncio.gather(
            db.run_together(_add_one_to_the_counter),
            db.run_together(fail),
            db.run_together(_add_one_to_the_counter),
            return_exceptions=True,
        )
        assert results[0] in (1, 2) and results[2] in (1, 2) and results[0] != results[2]
        assert isinstance(results[1], ValueError)
        async with db.sessions() as session:
            assert (
                await session.scalar(select(Counter.value).where(Counter.name == "incident")) == 2
            )
    finally:
        await db.dispose()


async def test_work_sharing_a_transaction_commits_once_and_a_failure_is_undone_alone(
    db_url: str,
) -> None:
    """Notes in a burst: on SQLite each in a savepoint of the one transaction (on PostgreSQL
    each in its own); the one that raises loses its change and the Slack effect it queued,
    the others keep theirs."""
    db = Database(db_url)
    commits: list[object] = []
    for engine in db.engines:
        event.listen(engine, "commit", commits.append)
    now = datetime(2026, 12, 7, tzinfo=UTC)

    async def add_one(session: DbSession) -> int:
        await session.execute(_ADD_ONE)
        value = await session.scalar(select(Counter.value).where(Counter.name == "incident"))
        assert value is not None
        outbox.enqueue(session, Post(target="bridge", text=f"note {value}"), now=now)
        return value

    async def fail(session: DbSession) -> int:
        await add_one(session)
        raise ValueError("this work fails")

    async def cancelled(session: DbSession) -> int:
        await add_one(session)
        raise asyncio.CancelledError  # not an Exception: the batch fails, no caller is left waiting

    try:
        results = await asyncio.gather(
            *(db.shared_transaction(work) for work in (add_one, fail, add_one)),
            return_exceptions=True,
        )
        assert sorted([results[0], results[2]]) == [1, 2]
        assert isinstance(results[1], ValueError)
        assert len(commits) == (1 if db.is_sqlite else 2)
        async with db.sessions() as session:
            value = await session.scalar(select(Counter.value).where(Counter.name == "incident"))
            assert value == 2
            texts = await session.scalars(select(Effect.payload))
            assert sorted(p["text"] for p in texts) == ["note 1", "note 2"]
        interrupted = await asyncio.wait_for(
            asyncio.gather(
                db.shared_transaction(add_one),
                db.shared_transaction(cancelled),
                return_exceptions=True,
            ),
            timeout=10,
        )
        if db.is_sqlite:  # one batch: what stopped its writing fails each caller, none hangs
            assert [type(r) for r in interrupted] == [RuntimeError, RuntimeError]
        else:
            assert isinstance(interrupted[1], asyncio.CancelledError)
        assert await db.shared_transaction(add_one) >= 3  # and the next works again
    finally:
        await db.dispose()


async def test_an_entry_undone_with_its_savepoint_leaves_the_timeline_chain_whole(
    db_url: str,
) -> None:
    """Works sharing a transaction (a burst of notes): one that fails after writing its entry
    is undone alone, and the entries written after it chain on from the last one kept."""
    db = Database(db_url)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            incident_id = await add_incident(session, 1, "sev2")

        async def note(session: DbSession, *, fail: bool) -> None:
            incident = await incident_store.get_by_id(
                session=session, incident_id=incident_id, lock=True
            )
            await incident_store.append(
                session=session,
                incident=incident,
                at=now,
                recorded_at=now,
                actor="U0A",
                kind="note",
            )
            if fail:
                raise RuntimeError("failed after its entry")

        fails = (False, True, False, True, False)
        works = (db.shared_transaction(partial(note, fail=fail)) for fail in fails)
        results = await asyncio.gather(*works, return_exceptions=True)
        assert [isinstance(result, RuntimeError) for result in results] == list(fails)
        report = await audit.verify(db)
        assert report.findings == [] and report.entries == 3
    finally:
        await db.dispose()


_ADD_ONE = update(Counter).where(Counter.name == "incident").values(value=Counter.value + 1)


def _add_one_to_the_counter(conn: Connection) -> int:
    conn.execute(_ADD_ONE)
    value = conn.scalar(select(Counter.value).where(Counter.name == "incident"))
    assert value is not None
    return value


async def test_a_connection_the_server_closed_is_replaced_without_failing_the_work(
    db_url: str,
) -> None:
    """PostgreSQL: short transactions skip the ping; the work runs again on a new connection."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close a connection")
    db = Database(db_url)
    try:
        first = await db.run_in_transaction(_add_one_to_the_counter)
        backend = await db.run_in_transaction(
            lambda conn: conn.scalar(text("SELECT pg_backend_pid()"))
        )
        async with db.sessions() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        second = await db.run_in_transaction(_add_one_to_the_counter)
        assert (first, second) == (1, 2)
        after = await db.run_in_transaction(
            lambda conn: conn.scalar(text("SELECT pg_backend_pid()"))
        )
        assert after != backend
    finally:
        await db.dispose()


async def test_a_pooled_connection_the_server_closed_while_idle_is_replaced_before_use(
    db_url: str,
) -> None:
    """PostgreSQL: a connection idle past `ping_after_idle_seconds` (0 here: any) is pinged
    before a transaction takes it, and one the server closed meanwhile is replaced: the
    transaction does not fail."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close a connection")
    db = Database(db_url, DatabaseSettings(pool_size=1, max_overflow=0, ping_after_idle_seconds=0))
    try:
        backend = await _backend_of_a_transaction(db)
        await _terminate(db, backend)
        assert await _backend_of_a_transaction(db) != backend
    finally:
        await db.dispose()


async def test_a_connection_given_back_within_the_window_is_used_without_a_ping(
    db_url: str,
) -> None:
    """PostgreSQL: within the window no ping is spent (a round trip a transaction); a
    connection the server closed that soon fails its transaction, and the next gets a new
    one."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close a connection")
    tuning = DatabaseSettings(pool_size=1, max_overflow=0, ping_after_idle_seconds=3600)
    db = Database(db_url, tuning)
    try:
        backend = await _backend_of_a_transaction(db)
        await _terminate(db, backend)
        with pytest.raises(DBAPIError) as failed:
            await _backend_of_a_transaction(db)
        assert failed.value.connection_invalidated
        assert await _backend_of_a_transaction(db) != backend
    finally:
        await db.dispose()


async def test_each_pool_s_connections_set_the_configured_parameters(db_url: str) -> None:
    """PostgreSQL: [database] server_settings on the transactions' pool, and
    hot_path_server_settings on the hot paths' (the default: never a scan of a whole table)."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite takes no run-time parameters")
    db = Database(db_url, DatabaseSettings(server_settings={"statement_timeout": "30s"}))
    try:
        async with db.transaction() as session:
            shown = await session.scalar(text("SHOW statement_timeout"))
            planning = await session.scalar(text("SHOW plan_cache_mode"))
        assert (shown, planning) == ("30s", "auto")  # the table given replaced the default
        seqscan = await db.run_in_transaction(lambda conn: conn.scalar(text("SHOW enable_seqscan")))
        assert seqscan == "off"
    finally:
        await db.dispose()


async def _backend_of_a_transaction(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def _terminate(db: Database, backend: int) -> None:
    """Close a backend from the server's side (from the hot paths' pool), and wait until the
    server shows it gone."""

    def terminate(conn: Connection) -> None:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})

    def gone(conn: Connection) -> bool:
        return conn.execute(_BACKEND_ALIVE, {"pid": backend}).first() is None

    await db.run_in_transaction(terminate)
    await eventually(lambda: db.run_in_transaction(gone))


_BACKEND_ALIVE = text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid")


async def test_commits_reach_the_database_file_without_a_writer_stopping_to_copy_them(
    db_url: str, tmp_path: Path
) -> None:
    """SQLite: the write-ahead log is copied back into the file by a thread of its own (no
    commit stops the event loop for it); the file alone, without its log, has the work."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no file to look at")
    db = Database(db_url)
    path = Path(db_url.split("///", 1)[1])
    try:
        for _ in range(50):
            await db.run_in_transaction(_add_one_to_the_counter)
        await eventually(lambda: _counter_in_file_alone(path, tmp_path) == 50)
    finally:
        await db.dispose()


def _counter_in_file_alone(path: Path, tmp_path: Path) -> int:
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(path, copy)  # without the -wal beside it: only what was copied back
    with closing(sqlite3.connect(copy)) as conn:
        return int(conn.execute("SELECT value FROM counters WHERE name = 'incident'").fetchone()[0])


async def test_a_writer_cancelled_while_another_process_holds_the_lock_changes_nothing(
    db_url: str,
) -> None:
    """SQLite: the caller gives up (a timeout, a shutdown) while its statement waits in a thread
    for another process's lock; the connection is not closed under the thread, nothing of the
    cancelled work is stored, and the next transaction goes through."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    db = Database(db_url)
    other_process = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")
        other_process.execute("UPDATE counters SET value = value + 5 WHERE name = 'incident'")
        asyncio.get_running_loop().call_later(0.5, other_process.execute, "COMMIT")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await db.run_in_transaction(_add_one_to_the_counter)
        assert await asyncio.wait_for(db.run_in_transaction(_add_one_to_the_counter), 10) == 6
    finally:
        other_process.close()
        await db.dispose()


async def test_a_read_is_answered_while_another_process_holds_the_write_lock(
    db_url: str,
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows, not the database")
    db = Database(db_url)
    path = db_url.removeprefix("sqlite+aiosqlite:///")
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # another process writing, not yet committed
            other.execute("UPDATE counters SET value = value + 5 WHERE name = 'incident'")
            async with db.sessions() as reading:
                seen = await asyncio.wait_for(reading.get(Counter, "incident"), timeout=5)
            assert seen is not None and seen.value == 0  # what was committed
            other.execute("COMMIT")
        async with db.sessions() as reading:
            seen = await reading.get(Counter, "incident")
        assert seen is not None and seen.value == 5
    finally:
        await db.dispose()


async def test_two_databases_share_compiled_statements_and_each_answers_its_own(
    db_url: str, template_database: str, tmp_path: Path
) -> None:
    other_url = await copy_database(template_database, tmp_path)
    first, second = Database(db_url), Database(other_url)
    try:
        async with first.transaction() as session:
            await session.execute(update(Counter).where(Counter.name == "incident").values(value=7))
        compiled = len(COMPILED)
        async with first.sessions() as session:
            assert await session.scalar(_COUNTER) == 7
        assert len(COMPILED) == compiled + 1
        async with second.sessions() as session:
            assert await session.scalar(_COUNTER) == 0  # its own database, not the first's
        assert len(COMPILED) == compiled + 1  # the first's compiled SQL served the second
    finally:
        await first.dispose()
        await second.dispose()
        await drop_database(other_url)


# A statement no other test runs, so that this one compiles it first.
_COUNTER = select(Counter.value.label("shared_probe")).where(Counter.name == "incident")


async def test_a_sqlite_file_that_cannot_be_opened_fails_the_ping_and_leaves_no_thread(
    tmp_path: Path,
) -> None:
    """serve's preflight says why in one line and stops; no thread of the failed connection
    may still be running to answer into the closed event loop (a traceback after the line)."""
    threads = set(threading.enumerate())
    with pytest.raises(DBAPIError, match="unable to open database file"):
        await ping_url(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/bk.db", timeout=5)
    assert set(threading.enumerate()) <= threads


@pytest.mark.parametrize("pool", ["server_settings", "hot_path_server_settings"])
async def test_a_run_time_parameter_the_server_does_not_know_is_named_before_start(
    db_url: str, pool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL: serve's and worker's preflight connects with each pool's [database]
    parameters, so a misspelt one is one line on stderr, not a failure at the first command."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite takes no run-time parameters")
    tuning = replace(DatabaseSettings(), **{pool: {"work_mme": "64MB"}})
    assert not await database_reachable(db_url, tuning, timeout=10)
    [line] = capsys.readouterr().err.splitlines()
    assert 'unrecognized configuration parameter "work_mme"' in line, line


async def test_commands_opening_a_sqlite_file_that_cannot_be_opened_leave_no_thread(
    tmp_path: Path,
) -> None:
    """`audit verify`, `report`, `outbox` and `db upgrade` first check the schema (or upgrade
    it): when the file cannot be opened they say why in one line, with no thread left to
    answer into the closed event loop after it."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/bk.db")
    threads = set(threading.enumerate())
    try:
        for first_step in (db.check_schema, db.upgrade):
            with pytest.raises(DBAPIError, match="unable to open database file"):
                await first_step()
        assert not await db.ping()
        assert set(threading.enumerate()) <= threads
    finally:
        await db.dispose()
