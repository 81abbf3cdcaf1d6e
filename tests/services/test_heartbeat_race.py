"""A heartbeat ping that arrives, on PostgreSQL, while the scheduler is raising that heartbeat's
missed alert: the alert does not stay firing for good once pings come again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import text

from bridgekeeper.clock import FrozenClock
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.scheduling.scheduler import Outcome
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import ScheduledJob
from tests.alerting import alerts, bridgekeepers
from tests.conftest import PG_URL, Running
from tests.helpers import eventually
from tests.services.test_heartbeats import ping

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="the race needs PostgreSQL's row locks"),
]


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(clock=FrozenClock())


async def blocked_on_a_row_lock(app: Running) -> bool:
    async with app.bk.db.sessions() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def test_a_ping_during_the_missed_alerts_firing_still_resolves_it(app: Running) -> None:
    status, _ = await ping(app, "nightly-backup?interval=5m")
    assert status == 200
    assert isinstance(app.bk.clock, FrozenClock)
    app.bk.clock.advance(minutes=6)  # 5 minutes and the grace of 1 minute: missed

    # the scheduler's transaction (the missed alert raised, the job claimed) is still open
    # when the ping comes in
    missed = app.bk.scheduler.handlers["heartbeat"]
    raised, go_on = asyncio.Event(), asyncio.Event()

    async def slow_missed(session: DbSession, job: ScheduledJob, now: datetime) -> Outcome:
        outcome = await missed(session, job, now)
        raised.set()
        await go_on.wait()
        return outcome

    app.bk.scheduler.handlers["heartbeat"] = slow_missed
    firing = asyncio.create_task(app.bk.scheduler.run_due())
    await raised.wait()
    pinged = asyncio.create_task(ping(app, "nightly-backup"))
    await eventually(lambda: blocked_on_a_row_lock(app))  # the ping waits for the job's row
    go_on.set()
    await firing
    await pinged
    app.bk.scheduler.handlers["heartbeat"] = missed
    await app.settle()

    status, _ = await ping(app, "nightly-backup")  # and pings keep coming, on time
    assert status == 200
    await app.settle()
    still_firing = [(a.title, a.status) for a in await alerts(app) if a.status == "firing"]
    assert still_firing == []
