"""Through the console's pages and its API, a hidden private incident is not found as fast as a
missing one, however slow Slack is to say who is in its channel."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import Running
from tests.console.conftest import Visitors, declare
from tests.helpers import eventually

SECRET = "Payroll exfiltration by contractor"
SLOW = 1.0  # seconds Slack takes to say who is in a channel
TRIES = 4

Read = Callable[[int], Awaitable[int]]  # incident number -> HTTP status


async def not_found_after(read: Read, number: int) -> float:
    started = time.monotonic()
    assert await read(number) == 404
    return time.monotonic() - started


@pytest.mark.parametrize("where", ["page", "api"])
async def test_a_hidden_incident_is_not_found_as_fast_as_a_missing_one(
    console: Running, visitors: Visitors, where: str
) -> None:
    for n in range(TRIES):  # one each: a look-up per channel is not answered from a cache
        await declare(console, f"{SECRET} {n} sev1 private")
    dave = visitors()
    await dave.sign_in("U0DAVE")

    async def read(number: int) -> int:
        if where == "api":
            return (await dave.api(f"/incidents/{number}"))[0]
        return (await dave.get(f"/console/incidents/{number}"))[0]

    console.slack.delay("conversations.members", SLOW, times=100)
    hidden = [await not_found_after(read, n) for n in range(1, TRIES + 1)]
    missing = [await not_found_after(read, 90 + n) for n in range(1, TRIES + 1)]
    assert statistics.median(hidden) < statistics.median(missing) + SLOW / 2
    assert statistics.median(hidden) < SLOW / 2  # nobody waited for Slack
    await eventually(lambda: not console.bk.incidents.access.channels.busy)
