"""Fires due jobs exactly once, in the process that holds the worker lease.

`run_due(now)` claims each due row with `UPDATE ... WHERE status = 'pending' AND due_at <= now`,
calls the job kind's handler (which re-reads the incident and re-checks the condition), and
enqueues what it says as outbox effects, all in one transaction: a second process, or a second
pass, finds nothing left to claim. A handler answers whether it reminded anyone and when the job
is next due (None: done). A kind may also have a `prepare` step, run before that transaction
opens, for what must not be done inside one (reading a paging tool's schedule).

Misfires: a job that fell due while no process was running fires once when the next leader
starts (it runs `run_due` at once on taking the lease); a repeating reminder that missed several
periods fires once and is re-armed from then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bridgekeeper import logs, metrics
from bridgekeeper.clock import Clock, wait_at_most
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import jobs, leases
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import ScheduledJob

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
RETRY_AFTER_ERROR = timedelta(minutes=1)
BATCH = 100
LEASE = "worker"
LEASE_TTL = timedelta(seconds=15)
LEASE_RENEW = 5.0


@dataclass(frozen=True)
class Outcome:
    fired: bool  # someone was reminded
    next_due: datetime | None  # re-arm the job then; None: it is done


JobHandler = Callable[[DbSession, ScheduledJob, datetime], Awaitable[Outcome]]
JobPrepare = Callable[[dict[str, Any]], Awaitable[None]]  # (the job's payload)


class Scheduler:
    def __init__(self, *, db: Database, clock: Clock, tick_seconds: float = TICK_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.handlers: dict[str, JobHandler] = {}
        self.preparers: dict[str, JobPrepare] = {}
        self._aps: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()

    def on(self, kind: str, handler: JobHandler, *, prepare: JobPrepare | None = None) -> None:
        self.handlers[kind] = handler
        if prepare is not None:
            self.preparers[kind] = prepare

    # -- running under the lease ------------------------------------------------------------------
    async def start(self) -> None:
        """Fire what fell due while nobody ran the scheduler, then check every few seconds."""
        await self._tick()
        self._aps = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        self._aps.add_job(
            self._tick,
            "interval",
            seconds=self.tick_seconds,
            id="run_due",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self._aps.start()

    async def lead(self, holder: str, stop: asyncio.Event) -> None:
        """Run while this process (`holder`) holds the lease, renewing it meanwhile, until
        `stop`; a lease another process stopped renewing is taken over."""
        while not stop.is_set():
            if await self._hold_lease(holder):
                await self.start()
                while not stop.is_set() and await self._hold_lease(holder):
                    await wait_at_most(stop, LEASE_RENEW)
                self.stop()
            else:
                await wait_at_most(stop, LEASE_RENEW)

    async def let_go(self, holder: str) -> None:
        """Give up the lease (this process stops): another process may lead at once."""
        with contextlib.suppress(Exception):
            await leases.release(self.db, name=LEASE, holder=holder)

    async def _hold_lease(self, holder: str) -> bool:
        now = self.clock.now()
        try:
            return await leases.acquire(self.db, name=LEASE, holder=holder, now=now, ttl=LEASE_TTL)
        except Exception:
            log.exception("could not renew the worker lease")
            return False

    @property
    def leading(self) -> bool:
        """Whether this process runs the scheduler now (it holds the lease)."""
        return self._aps is not None

    def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

    async def _tick(self) -> None:
        try:
            await self.run_due()
        except Exception:
            log.exception("scheduler pass failed; trying again at the next tick")

    # -- firing -----------------------------------------------------------------------------------
    async def run_due(self, now: datetime | None = None) -> int:
        """Fire every job due at `now`; returns how many reminded someone."""
        async with self._lock:
            now = now or self.clock.now()
            fired = 0
            for job_id, incident_id, kind, payload in await self._due(now):
                try:
                    with logs.bound(incident_id=incident_id, job_id=job_id):
                        if kind in self.preparers:
                            await self.preparers[kind](payload)
                        fired += await self._fire(job_id, incident_id, now)
                except Exception:
                    log.exception("scheduled job %s failed; retrying later", job_id)
                    await self._postpone(job_id, now + RETRY_AFTER_ERROR)
            return fired

    async def _due(self, now: datetime) -> list[tuple[str, int | None, str, dict[str, Any]]]:
        async with self.db.sessions() as session:
            return await jobs.due(session, now=now, limit=BATCH)

    async def _fire(self, job_id: str, incident_id: int | None, now: datetime) -> bool:
        async with self.db.transaction() as session:
            if incident_id is not None:  # the incident first, as every command locks it first
                await incident_store.get_by_id(session=session, incident_id=incident_id, lock=True)
            job = await jobs.claim(session, job_id=job_id, now=now)
            if job is None:
                return False  # fired by another process or pass, or moved meanwhile
            metrics.job_fired(job.kind, job.due_at, self.clock.now())
            handler = self.handlers.get(job.kind)
            outcome = await handler(session, job, now) if handler else Outcome(False, None)
            if handler is None:
                log.error("no handler for scheduled job kind %r (%s)", job.kind, job_id)
            job.fired_at = now if outcome.fired else job.fired_at
            job.status = "pending" if outcome.next_due else "done"
            job.due_at = outcome.next_due or job.due_at
        return outcome.fired

    async def _postpone(self, job_id: str, when: datetime) -> None:
        async with self.db.transaction() as session:
            await jobs.postpone(session, job_id=job_id, when=when)
