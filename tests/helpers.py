"""Small helpers the tests share."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.clock import SystemClock
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel, Message
from bridgekeeper.store.models import Effect, Incident

REPO = Path(__file__).resolve().parents[1]  # the repository (tests/ is at its top)


async def pending_effects(bk: Bridgekeeper) -> int:
    async with bk.db.sessions() as session:
        due = (
            select(func.count())
            .select_from(Effect)
            .where(Effect.status == "pending", Effect.next_attempt_at <= bk.clock.now())
        )
        return int(await session.scalar(due) or 0)


async def settle(bk: Bridgekeeper, timeout: float = 10.0) -> None:
    """Wait until the commands acknowledged have done their work and the outbox has delivered
    everything that is due. The database is asked again only once the worker has passed since
    (or stopped delivering): asked every 5 ms, it was one statement in seven of a note's."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await bk.runner.wait_idle()
                await _until(lambda: not bk.worker.delivering)
                passed = bk.worker.last_tick
                if not await pending_effects(bk) and bk.runner.in_flight == 0:
                    return
                bk.worker.wake()  # what came due with the clock goes out now
                await _passed_since(bk, passed)  # or another process is delivering: let it
    except TimeoutError:
        raise AssertionError(f"{await pending_effects(bk)} effects still pending") from None


async def _passed_since(bk: Bridgekeeper, tick: float | None) -> None:
    await _until(lambda: bk.worker.last_tick != tick or bk.worker.delivering > 0)


async def _until(condition: Callable[[], bool]) -> None:
    """Look again after 1 ms, then less and less often (at most every 8 ms): a short wait ends
    at once, and a long one (a lane posting at Slack's pace) is not one loop turn every 2 ms."""
    pause = 0.001
    while not condition():
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.008)


def status_card(slack: SlackEmulator, channel: Channel) -> Message:
    """A bridge channel's pinned message: its status card."""
    [pinned] = [m for m in slack.messages(channel.id) if m.ts in channel.pins]
    return pinned


async def eventually(
    condition: Callable[[], object | Awaitable[object]], timeout: float = 10.0
) -> None:
    """Wait until `condition` (a plain or an async function) holds."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


async def add_incident(session: AsyncSession, number: int, severity: str) -> int:
    """An open incident's row, as a declaration leaves it before anything else: its id."""
    now = SystemClock().now()
    incident = Incident(
        number=number,
        title="t",
        severity=severity,
        initial_severity=severity,
        stage="detect",
        status="open",
        declared_by="U0ALICE",
        declared_at=now,
        detected_at=now,
    )
    session.add(incident)
    await session.flush()
    return incident.id


def calendar(body: str | bytes) -> Any:
    """An iCalendar feed, read by the icalendar library (imported here, when a test reads one,
    not by every test process as it collects)."""
    import icalendar

    return icalendar.Calendar.from_ical(body)
