"""Incident statistics over a period, in one place for `/incident stats` and any dashboard.

`IncidentStats.compute(days)` returns a `Stats` dataclass: incidents declared in the period by
severity, mean and median times to acknowledge, stabilize and close (MTTA, MTTR), and the
false-positive rate per alert source. Times are measured as in the report
(bridgekeeper.domain.report.milestones): from the first sighting.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridgekeeper.clock import Clock
from bridgekeeper.domain import commands as c
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.report import mean_median, milestones
from bridgekeeper.services.report_facts import alert_facts, incident_facts
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import stats as stats_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Alert, Incident

DEFAULT_DAYS = 30
FALSE_POSITIVE = "false_positive"
TRIAGED = ("dismissed", "declared", "linked", "attached")


@dataclass(frozen=True)
class Timing:
    """Seconds; None when no incident in the period reached that point."""

    mean: int | None
    median: int | None
    count: int


@dataclass(frozen=True)
class SourceQuality:
    source: str
    alerts: int  # alerts first seen in the period
    triaged: int  # of those, decided one way or another
    false_positives: int

    @property
    def false_positive_rate(self) -> float | None:
        return self.false_positives / self.triaged if self.triaged else None


@dataclass(frozen=True)
class Stats:
    days: int
    since: datetime
    until: datetime
    incidents: int
    open: int
    by_severity: dict[str, int] = field(default_factory=dict)
    by_disposition: dict[str, int] = field(default_factory=dict)
    acknowledge: Timing = Timing(None, None, 0)
    declare: Timing = Timing(None, None, 0)
    stabilize: Timing = Timing(None, None, 0)
    close: Timing = Timing(None, None, 0)  # MTTR
    sources: tuple[SourceQuality, ...] = ()


class IncidentStats:
    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.Stats, self.stats_command)

    async def stats_command(self, command: c.Stats, inv: Invocation) -> Reply:
        return Reply("slack/stats.md.j2", {"stats": await self.compute(command.days)})

    async def compute(
        self,
        days: int | None = None,
        *,
        now: datetime | None = None,
        private_ids: Collection[int] | None = None,
    ) -> Stats:
        """`private_ids`: count only these private incidents (and their alerts); None: all."""
        days = days or DEFAULT_DAYS
        until = now or self.clock.now()
        since = until - timedelta(days=days)
        async with self.db.sessions() as session:
            declared = await stats_store.declared_between(session=session, since=since, until=until)
            incidents = [
                i for i in declared if private_ids is None or not i.private or i.id in private_ids
            ]
            timings = await _timings(session, incidents)
            sources = await _sources(session, since, until, private_ids)
        return Stats(
            days=days,
            since=since,
            until=until,
            incidents=len(incidents),
            open=sum(1 for i in incidents if i.status == "open"),
            by_severity=_ordered(Counter(i.severity for i in incidents)),
            by_disposition=dict(
                Counter(i.disposition or "not recorded" for i in incidents if i.status == "closed")
            ),
            acknowledge=timings["time_to_acknowledge"],
            declare=timings["time_to_declare"],
            stabilize=timings["time_to_stabilize"],
            close=timings["time_to_close"],
            sources=sources,
        )


def _ordered(counts: Counter[str]) -> dict[str, int]:
    return {s.value: counts.get(s.value, 0) for s in Severity}


async def _timings(session: DbSession, incidents: list[Incident]) -> dict[str, Timing]:
    ids = [i.id for i in incidents]
    alerts: dict[int, list[Alert]] = defaultdict(list)
    stabilized: dict[int, datetime] = {}
    if ids:
        for alert in await stats_store.alerts_of(session=session, incident_ids=ids):
            alerts[alert.incident_id or 0].append(alert)
        changes = await stats_store.entries_of_kind(
            session=session, incident_ids=ids, kind="stage_changed"
        )
        for entry in changes:
            if (entry.data or {}).get("to") == "stabilize":
                stabilized.setdefault(entry.incident_id, entry.at)
    metrics = [
        milestones(
            incident_facts(i), [alert_facts(a) for a in alerts[i.id]], stabilized.get(i.id)
        ).metrics()
        for i in incidents
    ]
    timings = {}
    for key in ("time_to_acknowledge", "time_to_declare", "time_to_stabilize", "time_to_close"):
        values = [m[key] for m in metrics]
        mean, median = mean_median(values)
        timings[key] = Timing(mean, median, sum(1 for v in values if v is not None))
    return timings


async def _sources(
    session: DbSession,
    since: datetime,
    until: datetime,
    private_ids: Collection[int] | None = None,
) -> tuple[SourceQuality, ...]:
    """Per source: alerts first seen in the period, how many were triaged, how many were false
    positives (dismissed as such, or part of an incident closed as one)."""
    rows = await stats_store.alert_outcomes(session=session, since=since, until=until)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for source, triage, alert_disposition, incident_disposition, private, incident_id in rows:
        if private and private_ids is not None and incident_id not in private_ids:
            continue  # an alert of a private incident the asker may not know of
        counts = totals[source]
        counts[0] += 1
        if triage in TRIAGED or incident_disposition:
            counts[1] += 1
        if FALSE_POSITIVE in (alert_disposition, incident_disposition):
            counts[2] += 1
    return tuple(SourceQuality(source, *totals[source]) for source in sorted(totals))
