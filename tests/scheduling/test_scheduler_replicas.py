"""Two `bridgekeeper worker` processes on one PostgreSQL database: a reminder is posted once, and
when the leader is killed the other takes over the scheduler and the outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.clock import FrozenClock, SystemClock
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.services.incidents import BOT_ACTOR
from bridgekeeper.store.models import Lease
from tests import conftest
from tests.conftest import PG_URL
from tests.faults.servers import Worker
from tests.updating import containing

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs BRIDGEKEEPER_TEST_DATABASE_URL (PostgreSQL)"),
]
UPDATE_DUE = "time for a status update"
NO_COMMANDER = "still has no commander"


@pytest.fixture
async def workers(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> AsyncIterator[list[Worker]]:
    pair = [
        Worker(db_url=db_url, api_url=emulator.api_url, log=tmp_path / f"worker-{n}.log")
        for n in (1, 2)
    ]
    for worker in pair:
        worker.spawn()
    yield pair
    for worker in pair:
        await worker.stop()


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not in time: {what}")


async def leader_pid(bk: Bridgekeeper) -> int | None:
    async with bk.db.sessions() as session:
        lease = await session.scalar(select(Lease).where(Lease.name == "worker"))
    if lease is None or lease.expires_at < SystemClock().now():
        return None
    return int(lease.holder.split(":")[1])


async def test_reminder_once_with_two_workers_and_handover_when_the_leader_dies(
    db_url: str, emulator: SlackEmulator, workers: list[Worker]
) -> None:
    emulator.add_channel("general", members=["U0ALICE"])
    # declared by an alert rule (nobody commands) two hours ago: the update and commander
    # reminders are already due
    past = FrozenClock(SystemClock().now() - timedelta(hours=2))
    settings = conftest.test_settings(db_url=db_url, api_url=emulator.api_url)
    bk = Bridgekeeper(settings, clock=past)  # this process only writes; the workers deliver
    try:
        pids: list[int | None] = [None]

        async def has_leader() -> bool:
            pids[0] = await leader_pid(bk)
            return pids[0] is not None

        deadline = time.monotonic() + 30
        while not await has_leader():
            assert time.monotonic() < deadline, "no worker took the lease"
            await asyncio.sleep(0.2)
        await bk.incidents.declare(user=BOT_ACTOR, title="First breach", severity=Severity.SEV2)

        def bridge(prefix: str) -> list[str]:
            found = emulator.channel_by_name(prefix)
            return containing(found, UPDATE_DUE) if found else []

        await wait_for(lambda: bool(bridge("inc-1-first-breach")), "first reminder")
        await asyncio.sleep(6)  # longer than a scheduler tick: a second firing would show
        first = emulator.channel_by_name("inc-1-first-breach")
        assert first is not None
        assert len(containing(first, UPDATE_DUE)) == 1
        assert len(containing(first, NO_COMMANDER)) == 1

        leader = next(w for w in workers if w.pid == pids[0])
        survivor = next(w for w in workers if w is not leader)
        leader.kill()
        await bk.incidents.declare(user=BOT_ACTOR, title="Second breach", severity=Severity.SEV2)
        await wait_for(lambda: bool(bridge("inc-2-second-breach")), "handover", timeout=60)
        await asyncio.sleep(6)
        second = emulator.channel_by_name("inc-2-second-breach")
        assert second is not None
        assert len(containing(second, UPDATE_DUE)) == 1
        assert len(containing(second, NO_COMMANDER)) == 1
        assert len(containing(first, UPDATE_DUE)) == 1
        assert await leader_pid(bk) == survivor.pid
        assert len([c for c in emulator.channels.values() if c.name.startswith("inc-")]) == 2
    finally:
        await bk.stop()
