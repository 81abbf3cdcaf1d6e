"""Tests wait for the outbox before they look at Slack (tests/helpers.py `settle`): it returns
only once what was due has been delivered, however slowly Slack answers. A worker told to stop
stops at once."""

from __future__ import annotations

import asyncio
import json

from bridgekeeper.clock import SystemClock
from bridgekeeper.effects.worker import OutboxWorker
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect
from tests.conftest import Running
from tests.helpers import eventually, pending_effects
from tests.services.test_lifecycle import declare


async def test_settling_waits_until_what_was_due_is_delivered(running: Running) -> None:
    bridge = await declare(running)
    running.slack.delay("chat.postMessage", 0.5, times=10)  # each post answered late
    reply = await running.command("note the attacker used a VPN", channel=bridge.id)
    assert reply.status == 200
    await running.settle()
    assert await pending_effects(running.bk) == 0
    posted = json.dumps([m.blocks for m in running.slack.messages(bridge.id)])
    assert "the attacker used a VPN" in posted


async def test_a_worker_with_nothing_to_do_is_settled_at_once(running: Running) -> None:
    await running.settle(timeout=1.0)
    assert running.bk.worker.delivering == 0
    assert await pending_effects(running.bk) == 0


async def test_a_worker_told_to_stop_between_passes_stops_without_waiting_out_its_pause(
    db_url: str,
) -> None:
    """Passes are spaced (a burst's wake-ups make one pass); a stop does not wait for the next
    pass's time, so a process stopping (each test's app, a deploy's SIGTERM) ends at once."""
    db = Database(db_url)
    worker = OutboxWorker(db=db, deliver=nothing, clock=SystemClock(), min_pass=600.0)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await eventually(lambda: worker.last_tick is not None)  # its first pass is made
        worker.wake()
        stop.set()
        async with asyncio.timeout(10):
            await running
    finally:
        running.cancel()
        await db.dispose()


async def nothing(effect: Effect) -> None:
    raise AssertionError(f"nothing was due, yet {effect.kind} was delivered")
