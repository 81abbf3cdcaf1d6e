"""The work after an ack waits while Slack requests wait for their answers: one command at a
time once they are answered, and never less than its least rate however many keep coming."""

from __future__ import annotations

import asyncio
import itertools

from bridgekeeper.pending_answers import PendingAnswers
from tests.helpers import eventually


async def moments(count: int = 10) -> None:
    """Let the event loop go round: what could run, has."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_work_starts_once_the_waiting_requests_are_answered() -> None:
    acks = PendingAnswers(least_per_second=0.1)
    await acks.turn()  # the first work in a while starts at once
    with acks.answering():
        work = asyncio.create_task(acks.turn())
        await moments()
        assert not work.done()
    await eventually(work.done)


async def test_answered_requests_let_the_waiting_work_go_one_command_at_a_time() -> None:
    acks = PendingAnswers(least_per_second=0.1)
    await acks.turn()
    with acks.answering():
        waiting = [asyncio.create_task(acks.turn()) for _ in range(5)]
        await moments()
    await waiting[0]
    with acks.answering():  # requests that came in as the first command's work started
        await moments()
        assert sum(w.done() for w in waiting) <= 2, "the waiting work went all at once"
    await eventually(lambda: all(w.done() for w in waiting))


async def test_requests_that_never_pause_still_let_work_start_at_its_least_rate() -> None:
    acks = PendingAnswers(least_per_second=20)  # one command's work every 50 ms, at least
    loop = asyncio.get_running_loop()
    with acks.answering():
        started = []
        for _ in range(4):
            await asyncio.wait_for(acks.turn(), timeout=5)
            started.append(loop.time())
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert all(gap >= 0.045 for gap in gaps), gaps
