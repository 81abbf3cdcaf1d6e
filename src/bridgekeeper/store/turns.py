"""The order in which this process's SQLite writers take the database (one at a time).

Two queues: short transactions of a few Core statements (an alert storm's counted repeats, the
outbox worker's bookkeeping) and the rest (a command's change of an incident, through the ORM).
When the writer leaves, the queue that did not have the last turn goes next, if anyone waits in
it: a short transaction waits for at most one long one, however many are queued, and a long one
is never passed by more than one short one in a row. Within a queue, first come, first served.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriterTurns:
    def __init__(self) -> None:
        self._queues: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )
        self._held = False
        self._last_short = False

    @asynccontextmanager
    async def turn(self, *, short: bool) -> AsyncIterator[None]:
        await self._take(short)
        try:
            yield
        finally:
            self._leave()

    async def _take(self, short: bool) -> None:
        if not self._held and not any(self._queues):
            self._held, self._last_short = True, short
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self._queues[short]
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # given the turn as it was cancelled
                self._leave()
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def _leave(self) -> None:
        """Hand the database to the next writer, alternating between the queues."""
        for short in (not self._last_short, self._last_short):
            queue = self._queues[short]
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    self._last_short = short
                    return  # still held: by the waiter
        self._held = False
