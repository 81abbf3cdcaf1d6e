"""Heartbeats kept as scheduled jobs ("heartbeat:<name>", due when the next ping is late): a
ping moves its job on; the job firing raises the missed-heartbeat alert in the scheduler's own
transaction, so a missed heartbeat is never lost; the next ping resolves it.

The interval comes from `[heartbeats]` in the configuration, else from the ping
(`?interval=5m`), else from the pings before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridgekeeper.clock import Clock
from bridgekeeper.domain.alerts import heartbeat
from bridgekeeper.domain.alerts.model import PayloadError
from bridgekeeper.scheduling.scheduler import Outcome, Scheduler
from bridgekeeper.services.intake import IntakeService
from bridgekeeper.store import jobs
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import ScheduledJob

KIND = "heartbeat"


@dataclass(frozen=True)
class Ping:
    name: str
    interval: timedelta
    late_after: datetime  # a ping after this is a missed heartbeat
    was_missed: bool


class Heartbeats:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        intake: IntakeService,
        scheduler: Scheduler,
        configured: Mapping[str, int],
    ) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake
        self.configured = configured  # name -> minutes
        scheduler.on(KIND, self.missed)

    async def ping(self, name: str, interval: str | None) -> Ping:
        heartbeat.check_name(name)
        now = self.clock.now()
        async with self.db.transaction() as session:
            job = await jobs.get(session, f"{KIND}:{name}", lock=True)
            every = self._interval(name, interval, job)
            was_missed = bool(job and job.payload.get("missed"))
            late_after = now + every + heartbeat.grace(every)
            payload = {
                "name": name,
                "interval_seconds": int(every.total_seconds()),
                "last_ping": now.isoformat(),
            }
            await jobs.put(
                session,
                job_id=f"{KIND}:{name}",
                kind=KIND,
                incident_id=None,
                due_at=late_after,
                payload=payload,
            )
        if was_missed:
            await self.intake.receive([heartbeat.back(name, now)])
        return Ping(name, every, late_after, was_missed)

    def _interval(self, name: str, given: str | None, job: ScheduledJob | None) -> timedelta:
        if name in self.configured:
            return timedelta(minutes=self.configured[name])
        if given:
            return heartbeat.interval_of(given)
        if job is not None and job.payload.get("interval_seconds"):
            return timedelta(seconds=int(job.payload["interval_seconds"]))
        raise PayloadError(
            f"heartbeat {name} has no interval: ping with ?interval=5m or set "
            f"[heartbeats] {name} = <minutes> in the configuration"
        )

    async def missed(self, session: DbSession, job: ScheduledJob, now: datetime) -> Outcome:
        name = str(job.payload["name"])
        interval = timedelta(seconds=int(job.payload["interval_seconds"]))
        last = datetime.fromisoformat(str(job.payload["last_ping"]))
        await self.intake.receive_in(session, heartbeat.missed(name, interval, last, now))
        job.payload = {**job.payload, "missed": True}
        return Outcome(fired=True, next_due=None)
