"""The event loop's lag in /metrics: a step that holds the loop shows as a late timer."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY

from bridgekeeper import metrics

LAG = "bridgekeeper_event_loop_lag_seconds"


def late(over: str) -> float:
    """How many timings were later than `over` seconds (a bucket's bound)."""
    count = REGISTRY.get_sample_value(f"{LAG}_count") or 0.0
    return count - (REGISTRY.get_sample_value(f"{LAG}_bucket", {"le": over}) or 0.0)


def hold_the_loop(seconds: float) -> None:
    """A long synchronous step: nothing else runs meanwhile."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


async def test_a_step_that_holds_the_event_loop_is_measured_as_lag() -> None:
    stop = asyncio.Event()
    watching = asyncio.create_task(metrics.watch_event_loop(stop, every=0.01))
    before = late("0.25")
    await asyncio.sleep(0.05)  # the watcher has set its timer
    hold_the_loop(0.3)
    stop.set()  # the watcher times the timer held up, then stops
    await watching
    assert late("0.25") - before >= 1  # the held timer (a stray stall may add one)
