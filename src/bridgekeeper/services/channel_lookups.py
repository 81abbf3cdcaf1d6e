"""Who is in a private bridge channel, asked of Slack in the background.

Someone refused a private incident they are not known to be in may be in its channel all the
same (added by a person, the member_joined_channel event lost). Waiting for Slack before
answering would tell a hidden incident from a missing one by the time the answer takes, so the
refusal goes out at once and the channel's members are looked up afterwards: those refused who
are in it are then recorded as members, and let in from their next try. A leave seen while a
look-up is in flight wins: nobody is added from that answer, and the next refusal asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable

from bridgekeeper import logs
from bridgekeeper.errors import SlackError
from bridgekeeper.services.directory import Directory

log = logging.getLogger(__name__)
LOOKUP_INTERVAL = 5.0  # seconds between two look-ups of one channel, for Slack's rate limits

Found = Callable[[str, set[str]], Awaitable[None]]  # (channel, users found in it)


class ChannelLookups:
    def __init__(self, *, directory: Directory, found: Found) -> None:
        self.directory = directory
        self.found = found
        self._asking: dict[str, set[str]] = {}  # channel: those refused since its last look-up
        self._running: dict[str, asyncio.Task[None]] = {}
        self._looked_at: dict[str, float] = {}
        self._left_at: dict[str, float] = {}  # channel: when someone last left it
        self._writing: set[str] = set()  # channels whose members are being stored
        self._closed = False

    @property
    def busy(self) -> bool:
        """Whether a look-up is waiting or under way."""
        return bool(self._running)

    def ask(self, *, channel: str, user: str) -> None:
        """Look up whether `user` is in `channel`, without waiting for the answer."""
        self._asking.setdefault(channel, set()).add(user)
        if channel not in self._running and not self._closed:
            self._start(channel)

    async def confirm(self, *, channel: str, user: str) -> None:
        """`user` recorded as a member if Slack says they are in `channel` now (unless a leave
        is seen meanwhile)."""
        asked_at = time.monotonic()
        try:
            inside = user in await self.directory.channel_members(channel)
        except SlackError as exc:
            log.warning("could not read a bridge channel's members: %s", exc.error)
            return
        if inside and self._left_at.get(channel, 0.0) < asked_at:
            await self.found(channel, {user})

    def left(self, channel: str) -> None:
        self._left_at[channel] = time.monotonic()

    async def close(self) -> None:
        """Stop the look-ups waiting for their turn or for Slack; let those storing finish."""
        self._closed = True
        running = list(self._running.items())
        for channel, task in running:
            if channel not in self._writing:
                task.cancel()
        for _, task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # _done logged it
                await task

    def _start(self, channel: str) -> None:
        # its own context: asked during a check, inside the caller's transaction, it is not in it
        task = asyncio.create_task(self._look_up(channel), context=contextvars.Context())
        self._running[channel] = task
        task.add_done_callback(functools.partial(self._done, channel))

    def _done(self, channel: str, task: asyncio.Task[None]) -> None:
        del self._running[channel]
        logs.log_failure(log, "a bridge channel's members were not looked up", task)
        if self._asking.get(channel) and not self._closed:
            self._start(channel)  # refused while the look-up was under way

    async def _look_up(self, channel: str) -> None:
        last = self._looked_at.get(channel)
        if last is not None and time.monotonic() - last < LOOKUP_INTERVAL:
            await asyncio.sleep(last + LOOKUP_INTERVAL - time.monotonic())
        asking = self._asking.pop(channel, set())
        asked_at = self._looked_at[channel] = time.monotonic()
        try:
            inside = asking.intersection(await self.directory.channel_members(channel))
        except SlackError as exc:
            log.warning("could not read a bridge channel's members: %s", exc.error)
            return
        if inside and self._left_at.get(channel, 0.0) < asked_at:
            self._writing.add(channel)
            try:
                await self.found(channel, inside)
            finally:
                self._writing.discard(channel)
