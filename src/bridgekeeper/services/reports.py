"""Post-incident reports: load an incident's data, compile it, render Markdown, HTML and JSON,
and keep every version with its sha256.

The content comes from `bridgekeeper.domain.report` (pure); the words from messages/report/
(Markdown through the text environment with the `md` filter escaping what people typed, HTML
through the HTML one, autoescaped); JSON is the compiled dict itself. The timeline is read page
by page and the work done in a worker thread (`services.report_build`), so a report of a long
incident neither holds up the event loop nor sits whole in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from bridgekeeper.clock import Clock
from bridgekeeper.domain import report as r
from bridgekeeper.domain.report_timeline import COMMUNICATION_KINDS
from bridgekeeper.rendering import Renderer, duration
from bridgekeeper.services.evidence import evidence_facts
from bridgekeeper.services.indicators import appendix_row, confirmed
from bridgekeeper.services.report_build import PAGE_ROWS, PART_CHARS, Build, Loop, Sink, Timeline
from bridgekeeper.services.report_html import time_element
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import notification_clocks as clock_store
from bridgekeeper.store import reports as report_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import (
    Alert,
    EvidenceItem,
    Followup,
    Incident,
    Report,
    RoleAssignment,
    Task,
    TimelineEntry,
)

T = TypeVar("T")

FORMATS = ("md", "html", "json")
MEDIA_TYPES = {"md": "text/markdown", "html": "text/html", "json": "application/json"}
UserName = Callable[[str], Awaitable[str]]
ChannelName = Callable[[str], Awaitable[str]]
_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]<>#|"} | {"\n": "\n  ", "\r": ""}
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>#|\n\r]")


@dataclass(frozen=True)
class StoredReport:
    number: int
    version: int
    format: str
    body: str
    sha256: str
    private: bool
    created_at: datetime
    report_id: int = 0


async def _no_names(user: str) -> str:
    return user


class ReportService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        renderer: Renderer,
        user_name: UserName = _no_names,
        channel_name: ChannelName = _no_names,
        page_rows: int = PAGE_ROWS,
        part_chars: int = PART_CHARS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer
        self.user_name = user_name
        self._names: dict[str, str] = {}
        self.channel_name = channel_name
        self._channels: dict[str, str] = {}
        self.page_rows = page_rows
        self.part_chars = part_chars
        self.building = 0  # reports being built in worker threads now
        add_report_filters(renderer)

    # -- compiling --------------------------------------------------------------------------------
    async def names(self, users: Iterable[str]) -> dict[str, str]:
        """Display names for user ids, asked once per process (Slack ids are opaque outside)."""
        for user in set(users) - set(self._names):
            if user and user != r.BOT:
                self._names[user] = await self.user_name(user)
        return {u: self._names[u] for u in users if u in self._names}

    async def learn_channels(self, channels: Iterable[str]) -> None:
        """Learn the names of the channels updates went to (asked of Slack once per process,
        never inside a transaction: `source` then only reads what was learned)."""
        for channel in set(channels) - set(self._channels):
            self._channels[channel] = await self.channel_name(channel)

    async def places(self, session: AsyncSession, incident: Incident) -> set[str]:
        """The channels this incident's updates went to, besides its bridge channel."""
        found = await session.scalars(
            select(TimelineEntry.data).where(TimelineEntry.incident_id == incident.id,
                                             TimelineEntry.kind.in_(COMMUNICATION_KINDS))
        )  # fmt: skip
        return {str(ch) for data in found for ch in (data or {}).get("channels") or []}

    def channel_names(self, incident: Incident, channels: Iterable[str]) -> dict[str, str]:
        named = {c: self._channels[c] for c in channels if self._channels.get(c, c) != c}
        return {"bridge": incident.channel_name, **named} if incident.channel_name else named

    async def people(self, session: AsyncSession, incident: Incident) -> set[str]:
        """Everyone a report of this incident may name."""
        actors = await session.scalars(
            select(TimelineEntry.actor).where(TimelineEntry.incident_id == incident.id).distinct()
        )
        holders = await session.scalars(
            select(RoleAssignment.user_id).where(RoleAssignment.incident_id == incident.id)
        )
        owners = await session.scalars(select(Task.owner).where(Task.incident_id == incident.id))
        custodians = await session.scalars(
            select(EvidenceItem.custodian).where(EvidenceItem.incident_id == incident.id)
        )
        found = {incident.declared_by, *actors, *holders, *(o for o in owners if o), *custodians}
        found.update(str(f.get("owner")) for f in incident.follow_ups or [] if f.get("owner"))
        return found

    async def source(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        version: int,
        users: dict[str, str] | None = None,
    ) -> r.ReportInput:
        """Everything a report is compiled from but the timeline (read page by page later)."""
        return r.ReportInput(
            incident=incident_facts(incident),
            entries=(),
            roles=[
                _spell(s)
                for s in await session.scalars(
                    select(RoleAssignment).where(RoleAssignment.incident_id == incident.id)
                )
            ],
            tasks=[
                _task(t, f)
                for t, f in await session.execute(
                    select(Task, Followup)
                    .outerjoin(Followup, Followup.task_id == Task.id)
                    .where(Task.incident_id == incident.id)
                    .order_by(Task.number)
                )
            ],
            alerts=[
                alert_facts(a)
                for a in await session.scalars(
                    select(Alert).where(Alert.incident_id == incident.id)
                )
            ],
            clocks=await regulatory_clocks(session, incident.id),
            evidence=await evidence_facts(session, incident.id),
            indicators=[appendix_row(row) for row in await confirmed(session, incident.id)],
            users=users or {},
            channels=self.channel_names(incident, await self.places(session, incident)),
            version=version,
            generated_at=self.clock.now(),
        )

    async def in_thread(
        self, session: AsyncSession, incident: Incident, source: r.ReportInput,
        job: Callable[[Build], T],
    ) -> T:  # fmt: skip
        """Run `job` on a Build of this incident's report in a worker thread; the timeline is
        read through this session (and its transaction), page by page, by the event loop."""
        loop = Loop(asyncio.get_running_loop())

        async def fetch(after: int) -> Sequence[Any]:
            return await incident_store.timeline_rows(
                session=session, incident_id=incident.id, after=after, limit=self.page_rows
            )

        timeline = Timeline(loop, fetch, self.page_rows)
        build = Build(renderer=self.renderer, source=source, timeline=timeline)
        self.building += 1
        try:
            return await asyncio.to_thread(job, build)
        except asyncio.CancelledError:
            loop.stopped = True  # the thread stops at its next page
            raise
        finally:
            self.building -= 1
            build.close()

    async def outline(self, session: AsyncSession, incident: Incident, *, version: int,
                      users: dict[str, str]) -> dict[str, Any]:  # fmt: skip
        """The report without its timeline's entries and actions (the Slack preview)."""
        source = await self.source(session, incident, version=version, users=users)
        return await self.in_thread(session, incident, source, Build.outline)

    # -- storing ----------------------------------------------------------------------------------
    async def publish(
        self, session: AsyncSession, incident: Incident, *, users: dict[str, str]
    ) -> dict[str, Report]:
        """Compile, render and store the next version (inside the closing transaction). A long
        report goes out in parts as it is rendered (`Report.body`, then `report_parts`)."""
        last = await session.scalar(
            select(func.max(Report.version)).where(Report.incident_id == incident.id)
        )
        version = (last or 0) + 1
        source = await self.source(session, incident, version=version, users=users)
        now = self.clock.now()
        rows = {fmt: self._empty(incident, version, fmt, now) for fmt in FORMATS}
        session.add_all(rows.values())
        await session.flush()

        def job(build: Build) -> dict[str, tuple[str, str]]:
            report = build.outline()
            return {fmt: build.write(fmt, report, Sink(partial(store, build, row.id),
                                                       self.part_chars))
                    for fmt, row in rows.items()}  # fmt: skip

        def store(build: Build, report_id: int, number: int, body: str) -> None:
            build.timeline.loop.call(report_store.add_part(
                session=session, report_id=report_id, number=number, body=body))  # fmt: skip

        for fmt, (first, digest) in (await self.in_thread(session, incident, source, job)).items():
            rows[fmt].body, rows[fmt].sha256 = first, digest
        await session.flush()
        return rows

    @staticmethod
    def _empty(incident: Incident, version: int, fmt: str, now: datetime) -> Report:
        """A report row to fill in once its format is rendered."""
        return Report(incident_id=incident.id, version=version, format=fmt, body="", sha256="",
                      timeline_head=incident.timeline_head, created_at=now)  # fmt: skip

    async def stored(
        self, number: int, fmt: str = "md", version: int | None = None, *, whole: bool = True
    ) -> StoredReport | None:
        """A stored report; `whole=False`: only its first part in `body` (see `rest`)."""
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            if incident is None:
                return None
            query = select(Report).where(Report.incident_id == incident.id, Report.format == fmt)
            if version is not None:
                query = query.where(Report.version == version)
            if not whole:
                query = query.options(raiseload(Report.parts))
            row = await session.scalar(query.order_by(Report.version.desc()).limit(1))
            if row is None:
                return None
            return StoredReport(number=incident.number, version=row.version, format=fmt,
                                body=row.text if whole else row.body, sha256=row.sha256,
                                private=incident.private, created_at=row.created_at,
                                report_id=row.id)  # fmt: skip

    async def rest(self, stored: StoredReport) -> AsyncIterator[str]:
        """The parts of a long report after its first, one at a time."""
        async with self.db.sessions() as session:
            async for body in report_store.later_parts(session=session, report_id=stored.report_id):
                yield body

    async def versions(self, number: int) -> list[int]:
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            if incident is None:
                return []
            query = select(Report.version).where(Report.incident_id == incident.id).distinct()
            return sorted(await session.scalars(query))

    async def draft(self, number: int, fmt: str = "md") -> str | None:
        """The report as it would read now, not stored (an open incident's preview)."""
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            if incident is None:
                return None
            users = await self.names(await self.people(session, incident))
            await self.learn_channels(await self.places(session, incident))
            source = await self.source(session, incident, version=0, users=users)
            return await self.in_thread(
                session, incident, source, lambda build: build.text(fmt, build.outline())
            )


def sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


# -- template filters ---------------------------------------------------------------------------
def escape_markdown(value: object) -> str:
    """Text people typed, safe in Markdown: no markup, no raw HTML, continuation lines indented
    so a multi-line note stays inside its list item."""
    text = "" if value is None else str(value)
    if _MD_SPECIAL.search(text) is None:  # most values: names, numbers
        return text
    return _MD_SPECIAL.sub(lambda match: _MD_ESCAPES[match[0]], text)


def when(value: object) -> str:
    """A time from the compiled report (ISO 8601 UTC, "...Z") as people read it; any other
    ISO 8601 text or datetime is converted to UTC first."""
    if not value:
        return "—"
    text = value if isinstance(value, str) else ""
    if len(text) == 20 and text.endswith("Z"):  # the report's own form: fast
        return text.replace("T", " ").replace("Z", " UTC")
    normal = r.iso_text(value)
    return normal.replace("T", " ").replace("Z", " UTC") if normal else str(value)


def seconds(value: int | None) -> str:
    return "—" if value is None else duration(timedelta(seconds=value))


def add_report_filters(renderer: Renderer) -> None:
    for env in (renderer.text_env, renderer.html_env, renderer.slack_env):
        env.filters.setdefault("when", when)
        env.filters.setdefault("secs", seconds)
    renderer.text_env.filters.setdefault("md", escape_markdown)
    renderer.html_env.filters.setdefault("md", lambda value: value)  # Jinja escapes HTML
    renderer.html_env.filters.setdefault("at", time_element)


# -- regulatory clocks (services/regulatory.py) ---------------------------------------------------
async def regulatory_clocks(session: AsyncSession, incident_id: int) -> list[r.RegulatoryClock]:
    rows = await clock_store.of_incident(session=session, incident_id=incident_id)
    return [
        r.RegulatoryClock(
            regime=row.regime,
            status=row.status,
            aware_at=row.aware_at,
            deadlines=list(row.deadlines or []),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            rationale=row.rationale,
        )
        for row in rows
    ]


# -- rows to plain data -------------------------------------------------------------------------
def incident_facts(incident: Incident) -> r.IncidentFacts:
    return r.IncidentFacts(
        number=incident.number, title=incident.title, severity=incident.severity,
        initial_severity=incident.initial_severity, stage=incident.stage, status=incident.status,
        private=incident.private, declared_by=incident.declared_by,
        declared_at=incident.declared_at, detected_at=incident.detected_at,
        closed_at=incident.closed_at, closed_by=incident.closed_by,
        impact=dict(incident.impact or {}),
        incident_type=getattr(incident, "incident_type", None),
        resolution_summary=incident.resolution_summary, root_cause=incident.root_cause,
        went_well=incident.went_well, to_improve=incident.to_improve,
        disposition=incident.disposition, follow_ups=list(incident.follow_ups or []),
        timeline_head=incident.timeline_head, timeline_length=incident.timeline_length,
    )  # fmt: skip


def _spell(spell: RoleAssignment) -> r.RoleSpell:
    return r.RoleSpell(role=spell.role, user=spell.user_id, assigned_by=spell.assigned_by,
                       assigned_at=spell.assigned_at, ended_at=spell.ended_at)  # fmt: skip


def _task(task: Task, followup: Followup | None) -> r.TaskFacts:
    issue = None
    if followup is not None and followup.key:
        issue = {"tracker": followup.tracker, "key": followup.key, "url": followup.url,
                 "state": followup.state, "done": followup.done}  # fmt: skip
    return r.TaskFacts(number=task.number, text=task.text, owner=task.owner,
                       created_by=task.created_by, created_at=task.created_at,
                       done_by=task.done_by, done_at=task.done_at, followup=task.followup,
                       issue=issue)  # fmt: skip


def alert_facts(alert: Alert) -> r.AlertFacts:
    return r.AlertFacts(
        source=alert.source, title=alert.title, severity=alert.severity,
        first_seen=alert.first_seen, last_seen=alert.last_seen, occurrences=alert.occurrences,
        acknowledged_by=alert.acknowledged_by, acknowledged_at=alert.acknowledged_at,
        triaged_by=alert.triaged_by, triaged_at=alert.triaged_at, triage=alert.triage,
        disposition=alert.disposition, link=alert.link,
    )  # fmt: skip
