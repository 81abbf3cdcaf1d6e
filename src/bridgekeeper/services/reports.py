"""Post-incident reports: load an incident's data, compile it, render Markdown, HTML and JSON,
and keep every version with its sha256.

The content comes from `bridgekeeper.domain.report.compile_report` (pure); the words from
messages/report/ (Markdown through `Renderer.text` with the `md` filter escaping what people
typed, HTML through `Renderer.html`, autoescaped); JSON is the compiled dict itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.clock import Clock
from bridgekeeper.domain import report as r
from bridgekeeper.rendering import Renderer, duration
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import (
    Alert,
    Incident,
    NotificationClock,
    Report,
    RoleAssignment,
    Task,
    TimelineEntry,
)

FORMATS = ("md", "html", "json")
MEDIA_TYPES = {"md": "text/markdown", "html": "text/html", "json": "application/json"}
UserName = Callable[[str], Awaitable[str]]
_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]<>#|"} | {"\n": "\n  ", "\r": ""}
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>#|\n\r]")
SEPARATOR = "\x1e"


@dataclass(frozen=True)
class StoredReport:
    number: int
    version: int
    format: str
    body: str
    sha256: str
    private: bool
    created_at: datetime


async def _no_names(user: str) -> str:
    return user


class ReportService:
    def __init__(
        self, *, db: Database, clock: Clock, renderer: Renderer, user_name: UserName = _no_names
    ) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer
        self.user_name = user_name
        self._names: dict[str, str] = {}
        add_report_filters(renderer)

    # -- compiling --------------------------------------------------------------------------------
    async def names(self, users: Iterable[str]) -> dict[str, str]:
        """Display names for user ids, asked once per process (Slack ids are opaque outside)."""
        for user in set(users) - set(self._names):
            if user and user != r.BOT:
                self._names[user] = await self.user_name(user)
        return {u: self._names[u] for u in users if u in self._names}

    async def people(self, session: AsyncSession, incident: Incident) -> set[str]:
        """Everyone a report of this incident may name."""
        actors = await session.scalars(
            select(TimelineEntry.actor).where(TimelineEntry.incident_id == incident.id).distinct()
        )
        holders = await session.scalars(
            select(RoleAssignment.user_id).where(RoleAssignment.incident_id == incident.id)
        )
        owners = await session.scalars(select(Task.owner).where(Task.incident_id == incident.id))
        found = {incident.declared_by, *actors, *holders, *(o for o in owners if o)}
        found.update(str(f.get("owner")) for f in incident.follow_ups or [] if f.get("owner"))
        return found

    async def compile(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        version: int,
        users: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        source = r.ReportInput(
            incident=incident_facts(incident),
            entries=await timeline_entries(session, incident.id),
            roles=[
                _spell(s)
                for s in await session.scalars(
                    select(RoleAssignment).where(RoleAssignment.incident_id == incident.id)
                )
            ],
            tasks=[
                _task(t)
                for t in await session.scalars(
                    select(Task).where(Task.incident_id == incident.id).order_by(Task.number)
                )
            ],
            alerts=[
                alert_facts(a)
                for a in await session.scalars(
                    select(Alert).where(Alert.incident_id == incident.id)
                )
            ],
            clocks=await regulatory_clocks(session, incident.id),
            users=users or {},
            version=version,
            generated_at=self.clock.now(),
        )
        return r.compile_report(source)

    def render(self, context: dict[str, Any]) -> dict[str, str]:
        """The three formats. Timeline sentences are rendered once, in one pass, and shared."""
        entries = context["timeline"]["entries"]
        sentences = self.renderer.text(
            "report/sentences.txt.j2", entries=entries, users=context["users"], sep=SEPARATOR
        ).split(SEPARATOR)
        said = {e["seq"]: sentence.strip() for e, sentence in zip(entries, sentences, strict=False)}
        return {
            "md": self.renderer.text("report/report.md.j2", **context, said=said).strip() + "\n",
            "html": self.renderer.html("report/report.html.j2", **context, said=said) + "\n",
            "json": json.dumps(context, ensure_ascii=False, sort_keys=True) + "\n",
        }

    # -- storing ----------------------------------------------------------------------------------
    async def publish(
        self, session: AsyncSession, incident: Incident, *, users: dict[str, str]
    ) -> dict[str, Report]:
        """Compile, render and store the next version (inside the closing transaction)."""
        last = await session.scalar(
            select(func.max(Report.version)).where(Report.incident_id == incident.id)
        )
        version = (last or 0) + 1
        bodies = self.render(await self.compile(session, incident, version=version, users=users))
        now = self.clock.now()
        rows = {
            fmt: Report(
                incident_id=incident.id,
                version=version,
                format=fmt,
                body=body,
                sha256=sha256(body),
                timeline_head=incident.timeline_head,
                created_at=now,
            )
            for fmt, body in bodies.items()
        }
        session.add_all(rows.values())
        await session.flush()
        return rows

    async def stored(
        self, number: int, fmt: str = "md", version: int | None = None
    ) -> StoredReport | None:
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            if incident is None:
                return None
            query = select(Report).where(Report.incident_id == incident.id, Report.format == fmt)
            if version is not None:
                query = query.where(Report.version == version)
            row = await session.scalar(query.order_by(Report.version.desc()).limit(1))
            if row is None:
                return None
            return StoredReport(number=incident.number, version=row.version, format=fmt,
                                body=row.body, sha256=row.sha256, private=incident.private,
                                created_at=row.created_at)  # fmt: skip

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
            context = await self.compile(session, incident, version=0, users=users)
        return self.render(context)[fmt]


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


# -- regulatory clocks (services/regulatory.py) ---------------------------------------------------
async def regulatory_clocks(session: AsyncSession, incident_id: int) -> list[r.RegulatoryClock]:
    rows = await session.scalars(
        select(NotificationClock).where(NotificationClock.incident_id == incident_id)
        .order_by(NotificationClock.started_at)
    )  # fmt: skip
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


async def timeline_entries(session: AsyncSession, incident_id: int) -> list[r.Entry]:
    """The whole timeline as plain rows: no ORM objects, so 10,000 entries load quickly."""
    rows = await session.execute(
        select(TimelineEntry.seq, TimelineEntry.at, TimelineEntry.actor, TimelineEntry.kind,
               TimelineEntry.text, TimelineEntry.data, TimelineEntry.hash)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.seq)
    )  # fmt: skip
    return [
        r.Entry(seq=seq, at=at, actor=actor, kind=kind, text=text, data=data or {}, hash=digest)
        for seq, at, actor, kind, text, data, digest in rows
    ]


def _spell(spell: RoleAssignment) -> r.RoleSpell:
    return r.RoleSpell(role=spell.role, user=spell.user_id, assigned_by=spell.assigned_by,
                       assigned_at=spell.assigned_at, ended_at=spell.ended_at)  # fmt: skip


def _task(task: Task) -> r.TaskFacts:
    return r.TaskFacts(number=task.number, text=task.text, owner=task.owner,
                       created_by=task.created_by, created_at=task.created_at,
                       done_by=task.done_by, done_at=task.done_at)  # fmt: skip


def alert_facts(alert: Alert) -> r.AlertFacts:
    return r.AlertFacts(
        source=alert.source, title=alert.title, severity=alert.severity,
        first_seen=alert.first_seen, last_seen=alert.last_seen, occurrences=alert.occurrences,
        acknowledged_by=alert.acknowledged_by, acknowledged_at=alert.acknowledged_at,
        triaged_by=alert.triaged_by, triaged_at=alert.triaged_at, triage=alert.triage,
        disposition=alert.disposition, link=alert.link,
    )  # fmt: skip
