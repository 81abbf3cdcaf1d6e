"""A fixed number of slots for the work done after an ack, taken in order of urgency.

Commands wait here for one of the runner's slots. A declaration goes before the notes, tasks and
edits queued ahead of it (a new incident's channel must not wait behind a busy bridge's
backlog); within one urgency, first come, first served.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Slots:
    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # (urgency, order, ...)
        self._order = itertools.count()

    @asynccontextmanager
    async def slot(self, urgency: int) -> AsyncIterator[None]:
        """A slot, before the waiters of a larger `urgency` (0 is the most urgent)."""
        await self._take(urgency)
        try:
            yield
        finally:
            self._give_back()

    async def _take(self, urgency: int) -> None:
        if self._free and not self._waiting:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (urgency, next(self._order), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot as it was cancelled
                self._give_back()
            else:
                waiter.cancel()  # skipped when its turn comes
            raise

    def _give_back(self) -> None:
        while self._waiting:
            waiter = heapq.heappop(self._waiting)[2]
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
