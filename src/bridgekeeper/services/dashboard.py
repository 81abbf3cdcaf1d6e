"""The console's dashboard figures over a period, as tables: one row per week (or per alert
source, or per regulatory regime), one column per severity (or source, or outcome).

Only the incidents the reader may see are counted (`private_ids`, as for IncidentStats), and
the alerts of those alone. Times are measured as in the report (domain.report.milestones):
acknowledging and closing from the first sighting; the first stakeholder update from the
declaration to the first "update_posted" entry of the timeline. Weeks start on Monday (UTC).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bridgekeeper.clock import Clock
from bridgekeeper.domain import regimes
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.report import milestones
from bridgekeeper.services.report_facts import alert_facts, incident_facts
from bridgekeeper.services.stats import IncidentStats, SourceQuality
from bridgekeeper.services.update_reminders import UPDATE_KIND
from bridgekeeper.store import notification_clocks as clock_store
from bridgekeeper.store import stats as stats_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Alert, Incident

CHARTS = (
    "mtta",
    "mttr",
    "by_severity",
    "by_source",
    "false_positives",
    "first_update",
    "regulatory",
)
PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 90
BY_HAND = "none"  # the "source" of an incident declared without an alert
OUTCOMES = ("met", "missed", "pending")
SEVERITIES = tuple(s.value for s in Severity)
Value = float | int | None


@dataclass(frozen=True)
class Table:
    """`name` says what it is (the words are in messages/console/); `kind`: how to draw it."""

    name: str
    kind: str  # "line" or "bar"
    unit: str  # "minutes", "incidents", "percent", "deadlines"
    columns: tuple[str, ...]
    rows: list[tuple[str, list[Value]]]
    plotted: tuple[str, ...] = ()  # the columns drawn; all when empty


@dataclass(frozen=True)
class Figures:
    days: int
    since: datetime
    until: datetime
    tables: dict[str, Table] = field(default_factory=dict)


@dataclass(frozen=True)
class _Seen:
    """One incident as the dashboard needs it."""

    week: str
    severity: str
    source: str
    acknowledge: int | None
    resolve: int | None
    first_update: int | None


class Dashboard:
    def __init__(
        self, *, db: Database, stats: IncidentStats, clock: Clock, regimes: dict[str, str]
    ) -> None:
        self.db = db
        self.regimes = regimes  # name: title
        self.stats = stats
        self.clock = clock

    async def figures(self, days: int, *, private_ids: Collection[int] | None) -> Figures:
        until = self.clock.now()
        since = until - timedelta(days=days)
        weeks = _weeks(since, until)
        async with self.db.sessions() as session:
            incidents = await _incidents(session, since, until, private_ids)
            seen = await _seen(session, incidents)
            deadlines = await _deadlines(session, [i.id for i in incidents], until)
        sources = (await self.stats.compute(days, now=until, private_ids=private_ids)).sources
        figures = Figures(days, since, until)
        for table in (
            _times("mtta", weeks, seen, "acknowledge"),
            _times("mttr", weeks, seen, "resolve"),
            _counts("by_severity", weeks, seen, "severity", SEVERITIES),
            _counts("by_source", weeks, seen, "source", _sources_of(seen)),
            _false_positives(sources),
            _times("first_update", weeks, seen, "first_update"),
            _regulatory(deadlines, self.regimes),
        ):
            figures.tables[table.name] = table
        return figures


def monday(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def _weeks(since: datetime, until: datetime) -> list[str]:
    first, last = monday(since), monday(until)
    return [(first + timedelta(weeks=n)).isoformat() for n in range((last - first).days // 7 + 1)]


def _minutes(seconds: Iterable[int | None]) -> float | None:
    known = [s for s in seconds if s is not None]
    return round(statistics.fmean(known) / 60, 1) if known else None


def _times(name: str, weeks: list[str], seen: list[_Seen], what: str) -> Table:
    grouped: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for s in seen:
        grouped[s.week, s.severity].append(getattr(s, what))
    rows = [
        (week, [_minutes(grouped.get((week, severity), ())) for severity in SEVERITIES])
        for week in weeks
    ]
    return Table(name, "line", "minutes", SEVERITIES, rows)


def _counts(
    name: str, weeks: list[str], seen: list[_Seen], by: str, columns: tuple[str, ...]
) -> Table:
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for s in seen:
        counted[s.week, getattr(s, by)] += 1
    rows: list[tuple[str, list[Value]]] = [
        (week, [counted[week, c] for c in columns]) for week in weeks
    ]
    return Table(name, "bar", "incidents", columns, rows)


def _sources_of(seen: list[_Seen]) -> tuple[str, ...]:
    named = sorted({s.source for s in seen if s.source != BY_HAND})
    return (*named, BY_HAND) if any(s.source == BY_HAND for s in seen) else tuple(named)


def _false_positives(sources: Iterable[SourceQuality]) -> Table:
    rows: list[tuple[str, list[Value]]] = []
    for s in sources:
        rate = s.false_positive_rate
        rows.append(
            (
                s.source,
                [
                    s.alerts,
                    s.triaged,
                    s.false_positives,
                    None if rate is None else round(rate * 100, 1),
                ],
            )
        )
    columns = ("alerts", "triaged", "false_positives", "rate")
    return Table("false_positives", "bar", "percent", columns, rows, plotted=("rate",))


def _regulatory(deadlines: dict[str, dict[str, int]], titles: dict[str, str]) -> Table:
    rows: list[tuple[str, list[Value]]] = [
        (titles.get(regime, regime.upper()), [deadlines[regime][o] for o in OUTCOMES])
        for regime in sorted(deadlines)
    ]
    return Table("regulatory", "bar", "deadlines", OUTCOMES, rows)


# -- reading ------------------------------------------------------------------------------------
async def _incidents(
    session: DbSession, since: datetime, until: datetime, private_ids: Collection[int] | None
) -> list[Incident]:
    declared = await stats_store.declared_between(
        session=session, since=since, until=until, in_order=True
    )
    return [i for i in declared if private_ids is None or not i.private or i.id in private_ids]


async def _seen(session: DbSession, incidents: list[Incident]) -> list[_Seen]:
    ids = [i.id for i in incidents]
    alerts: dict[int, list[Alert]] = defaultdict(list)
    updates: dict[int, datetime] = {}
    if ids:
        for alert in await stats_store.alerts_of(session=session, incident_ids=ids, in_order=True):
            alerts[alert.incident_id or 0].append(alert)
        posted = await stats_store.entry_times(session=session, incident_ids=ids, kind=UPDATE_KIND)
        for incident_id, at in posted:
            updates.setdefault(incident_id, at)
    return [_one(i, alerts[i.id], updates.get(i.id)) for i in incidents]


def _one(incident: Incident, alerts: list[Alert], first_update: datetime | None) -> _Seen:
    metrics = milestones(incident_facts(incident), map(alert_facts, alerts), None).metrics()
    update = None
    if first_update is not None:
        update = max(0, int((first_update - incident.declared_at).total_seconds()))
    return _Seen(
        week=monday(incident.declared_at).isoformat(),
        severity=incident.severity,
        source=alerts[0].source if alerts else BY_HAND,
        acknowledge=metrics["time_to_acknowledge"],
        resolve=metrics["time_to_close"],
        first_update=update,
    )


async def _deadlines(
    session: DbSession, incident_ids: list[int], now: datetime
) -> dict[str, dict[str, int]]:
    """Per regime: its deadlines met (done by the due time), missed (done late, or past due
    and not done) and pending (not done, not yet due)."""
    counted: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    if not incident_ids:
        return counted
    for clock in await clock_store.of_incidents(session=session, incident_ids=incident_ids):
        required, counts = clock.status != regimes.NOT_REQUIRED, counted[clock.regime]
        for deadline in clock.deadlines:
            found = _outcome(deadline, now, required)
            if found in OUTCOMES:  # a deadline no notification was required for is none
                counts[found] += 1
    return counted


def _outcome(deadline: dict[str, object], now: datetime, required: bool) -> str:
    """A deadline still waiting for the event it counts from is pending."""
    due, done = (_at(deadline.get(key)) for key in ("due_at", "done_at"))
    found = regimes.outcome(due, done, now, required=required)
    return "pending" if found == "waiting" else found


def _at(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None
