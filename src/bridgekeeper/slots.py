"""A number of slots, handed to waiting work by a rule about its kind; and a count of work
under way, with a wait for none (`InFlight`).

Work of several kinds waits here, each kind first come, first served; when a slot comes free,
`choose` picks the kind that goes next from those waiting (and the kind that went last). The
command runner's slots take a declaration before other commands (services/runner.py); SQLite's
one writer is shared out by time between short transactions and the others (store/turns.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

Choose = Callable[[Sequence[int], int], int]  # (kinds waiting, kind that went last) -> kind


class Slots:
    def __init__(self, size: int, *, kinds: int, choose: Choose) -> None:
        self._free = size
        self._queues: list[deque[asyncio.Future[None]]] = [deque() for _ in range(kinds)]
        self._choose = choose
        self._last = 0

    @asynccontextmanager
    async def slot(self, kind: int) -> AsyncIterator[None]:
        await self._take(kind)
        try:
            yield
        finally:
            self._give_back()

    async def _take(self, kind: int) -> None:
        if self._free and not any(self._queues):
            self._free -= 1
            self._last = kind
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self._queues[kind]
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot as it was cancelled
                self._give_back()
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def _give_back(self) -> None:
        """Hand the slot to the next waiter of the kind `choose` picks; else free it."""
        while waiting := [kind for kind, queue in enumerate(self._queues) if queue]:
            kind = self._choose(waiting, self._last)
            waiter = self._queues[kind].popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._last = kind
                return
        self._free += 1


class InFlight:
    """How many pieces of work are under way, and a wait for the moment there are none."""

    def __init__(self) -> None:
        self.count = 0
        self._none = asyncio.Event()
        self._none.set()

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.count += 1
        self._none.clear()
        try:
            yield
        finally:
            self.count -= 1
            if not self.count:
                self._none.set()

    async def wait_none(self) -> None:
        await self._none.wait()
