"""Answer Slack the moment a listener acks, and let its work go on after.

Bolt can leave a listener running after Slack is answered (`process_before_response=False`),
but it then learns of the ack by looking every 10 ms: every command waited 10 ms or more for
its answer, longer when the event loop was busy, since the look is a timer that needs the loop.
Instead Bolt answers when the listener returns (`process_before_response=True`), and each
listener is registered through `AckFirst`, which runs it as a task of its own and returns as
soon as it has acked (or, for events, which Bolt acknowledges itself, at once). The work after
the ack is counted busy (`CommandRunner.busy`) from before Slack is answered.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

log = logging.getLogger(__name__)
Listener = Callable[..., Awaitable[Any]]
Busy = Callable[[], AbstractContextManager[None]]


class AckFirst:
    """The parts of Bolt's app the listeners register with, each listener run ack-first."""

    def __init__(self, app: AsyncApp, busy: Busy) -> None:
        self.app = app
        self.busy = busy
        self._running: set[asyncio.Task[Any]] = set()

    def command(self, name: str) -> Callable[[Listener], Any]:
        return self._wrapping(self.app.command(name))

    def action(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapping(self.app.action(constraints))

    def view(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapping(self.app.view(constraints))

    def shortcut(self, constraints: Any) -> Callable[[Listener], Any]:
        return self._wrapping(self.app.shortcut(constraints))

    def event(self, event: Any) -> Callable[[Listener], Any]:
        return self._wrapping(self.app.event(event))

    async def cancel(self) -> int:
        """Cancel the work still running after its ack (a stop that could wait no longer), and
        wait for it to unwind: how many listeners were cut short."""
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        return len(running)

    def _wrapping(self, register: Callable[[Listener], Any]) -> Callable[[Listener], Any]:
        return lambda listener: register(self._ack_first(listener))

    def _ack_first(self, listener: Listener) -> Listener:
        @functools.wraps(listener)  # Bolt reads the listener's argument names through this
        async def run(**kwargs: Any) -> None:
            ack = kwargs.get("ack")
            if ack is None:  # an event: Bolt acknowledges it when this returns
                self._start(listener(**kwargs), None)
                return
            acked = asyncio.get_running_loop().create_future()
            kwargs["ack"] = _Signalling(ack, acked)
            work = self._start(listener(**kwargs), acked)
            await asyncio.wait((acked, work), return_when=asyncio.FIRST_COMPLETED)
            if not acked.done():
                work.result()  # it failed before acking: Bolt answers with its error

        return run

    def _start(self, work: Awaitable[Any], acked: asyncio.Future[None] | None) -> asyncio.Task[Any]:
        busy = self.busy()
        busy.__enter__()
        task = asyncio.ensure_future(work)
        self._running.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._running.discard(task)
            busy.__exit__(None, None, None)
            failed = not task.cancelled() and task.exception() is not None
            if failed and (acked is None or acked.done()):
                log.error("listener failed after its ack", exc_info=task.exception())

        task.add_done_callback(done)
        return task


class _Signalling:
    """Bolt's ack, which also tells `AckFirst` it was called."""

    def __init__(self, ack: AsyncAck, acked: asyncio.Future[None]) -> None:
        self._ack = ack
        self._acked = acked

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        answer = await self._ack(*args, **kwargs)  # if it raises, the listener fails unacked
        if not self._acked.done():
            self._acked.set_result(None)
        return answer
