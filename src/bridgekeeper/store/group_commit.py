"""SQLite's writers, taking turns, and committing together (group commit).

SQLite has one writer at a time, and every commit is synced to disk. A burst of commands (a
thousand notes in a bridge channel) was a thousand transactions in turn, each paying its
BEGIN, its COMMIT and its sync. Writing transactions run in the event loop's thread
(store/inline_sqlite.py), so those that start while the loop goes round once run one after
another; here each leaves its work in a savepoint of a transaction the next one carries on, and
the group commits once the loop has come round. A transaction that fails rolls back only its
savepoint and raises to its caller as before; the others' callers return only after the commit
(what was answered as stored is on disk), and a failed commit fails them all. Other writers
(short Core transactions on their own connection) are never kept waiting behind an open group:
it commits before they begin.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

AFTER_COMMIT = "bridgekeeper_after_commit"  # session.info key: this transaction's callbacks
Callbacks = list[Callable[[], None]]


class GroupCommit:
    def __init__(
        self, sessions: Callable[[], AsyncSession], committed: Callable[[AsyncSession], None]
    ) -> None:
        self._sessions = sessions
        self._committed = committed  # called after each group's commit, with its session
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._session: AsyncSession | None = None  # the open group's
        self._pending: list[tuple[asyncio.Future[Callbacks], Callbacks]] = []
        self._closer: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[None]:
        """The write lock for other work: any open group is committed first."""
        async with self._loop_lock():
            await self._commit()
            yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits with the group's (in a savepoint of its own)."""
        async with self._loop_lock():
            session = await self._open()
            callbacks: Callbacks = []
            session.info[AFTER_COMMIT] = callbacks
            try:
                async with session.begin_nested():
                    yield session
            finally:
                self._commit_soon()
            committed = asyncio.get_running_loop().create_future()
            self._pending.append((committed, callbacks))
        for callback in await committed:
            callback()

    async def close(self) -> None:
        """Commit what is still open (a caller cancelled while it waited for the commit)."""
        if self._session is not None:
            await self._close()

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        return self._lock[1]

    async def _open(self) -> AsyncSession:
        if self._session is None:
            session = self._sessions()
            await session.begin()
            self._session = session
        return self._session

    def _commit_soon(self) -> None:
        """Commit the group once the loop has come round (and the lock is free)."""
        if self._closer is None or self._closer.done():
            self._closer = asyncio.create_task(self._close())

    async def _close(self) -> None:
        async with self._loop_lock():
            await self._commit()

    async def _commit(self) -> None:
        session, pending = self._session, self._pending
        if session is None:
            return
        self._session, self._pending = None, []
        try:
            await session.commit()
        except Exception as exc:
            for future, _ in pending:
                _settle(future, exc)
            return
        finally:
            await session.close()
        self._committed(session)
        for future, callbacks in pending:
            _settle(future, callbacks)


def _settle(future: asyncio.Future[Callbacks], result: Callbacks | Exception) -> None:
    if future.done():
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
