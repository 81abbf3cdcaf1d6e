"""Slack's answers first: the work after an ack starts when no Slack request is waiting for its
answer.

Slack gives a request 3 seconds, and a user sees the answer; the work it starts can wait a
moment. One event loop serves both, first come, first served, so a burst of commands had each
ack wait behind the work of the commands before it. Here that work starts one command at a time,
when no Slack request is being answered; while requests keep coming without a pause, a command's
work still starts every `1 / least_per_second` seconds, so the work never stops and never
arrives in a heap.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, suppress

from bridgekeeper.slots import InFlight


class PendingAnswers:
    def __init__(self, *, least_per_second: float = 50.0) -> None:
        self._answering = InFlight()  # Slack requests not yet answered
        self._turn = asyncio.Lock()
        self._gap = 1.0 / least_per_second
        self._last = 0.0

    def answering(self) -> AbstractContextManager[None]:
        """Around the answer to one Slack request."""
        return self._answering.counting()

    async def turn(self) -> None:
        """Before the work after an ack: wait until no request waits for its answer (or this
        work's least share is due), one command at a time, each letting requests that have
        just arrived be counted before the next one starts."""
        async with self._turn:
            loop = asyncio.get_running_loop()
            due = self._last + self._gap - loop.time()
            if self._answering.count and due > 0:
                with suppress(TimeoutError):
                    async with asyncio.timeout(due):
                        await self._answering.wait_none()
            self._last = loop.time()
            await asyncio.sleep(0)  # the requests read meanwhile start their answers
            await asyncio.sleep(0)
