"""Small helpers the tests share."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, select

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.store.models import Effect

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
    """Wait until the outbox has delivered everything that is due."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3:
        if time.monotonic() > deadline:
            raise AssertionError(f"{await pending_effects(bk)} effects still pending")
        bk.worker.wake()
        await asyncio.sleep(0.02)
        idle = bk.runner.in_flight == 0 and await pending_effects(bk) == 0
        quiet = quiet + 1 if idle else 0


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
