"""The order in which this process's SQLite writers take the database (one at a time).

Two kinds: short transactions of a few Core statements (an alert storm's counted repeats, the
outbox worker's bookkeeping) and the rest (a command's change of an incident, through the ORM).
The kinds share the writer's time: when the writer leaves, the kind that has held it the least
goes next, if any of it waits. So a batch of notes that held it for 12 ms is followed by as many
of a storm's short batches as fit in 12 ms, not by one; turn by turn, the storm would go at the
pace of the notes. A kind that was idle comes back with at most `CREDIT` seconds of turns owed
to it. Within a kind, first come, first served.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from bridgekeeper.slots import Slots

LONG, SHORT = 0, 1
CREDIT = 0.05  # seconds of the writer an idle kind may have to catch up, at most


class WriterTurns:
    """One writer at a time (`slot(SHORT)` or `slot(LONG)`), each kind its share of the time."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._held = [0.0, 0.0]  # seconds each kind has held the writer
        self._active = [0, 0]  # writers of each kind waiting or writing
        self._slots = Slots(1, kinds=2, choose=self._least_held)

    @asynccontextmanager
    async def slot(self, kind: int) -> AsyncIterator[None]:
        if not self._active[kind]:  # back from idle: owed CREDIT at most
            self._held[kind] = max(self._held[kind], max(self._held) - CREDIT)
        self._active[kind] += 1
        try:
            async with self._slots.slot(kind):
                started = self._clock()
                try:
                    yield
                finally:
                    self._held[kind] += self._clock() - started
        finally:
            self._active[kind] -= 1

    def _least_held(self, waiting: Sequence[int], last: int) -> int:
        return min(waiting, key=lambda kind: self._held[kind])
