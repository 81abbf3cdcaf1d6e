"""What the web console and its API read of incidents, always through the one access check
(services/access.py): a private incident is answered exactly like a missing one (None) to
anyone outside it, and is neither listed nor counted for them.

A single incident is checked with `Access.prepare` + `Access.check` ("read"), so Slack is asked
about the bridge channel's members as for a slash command; lists and counts filter in the
database on the membership bridgekeeper keeps (invitations and Slack's join and leave events).
The console is seen by its reader alone, like a card's form, so a member reads a private incident
there as from its bridge channel (never "addressed from outside").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from markupsafe import Markup

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain.alerts.heartbeat import SOURCE as HEARTBEAT
from bridgekeeper.domain.alerts.parse import SOURCES
from bridgekeeper.domain.incidents import Severity, Stage
from bridgekeeper.domain.report_timeline import Entry
from bridgekeeper.domain.text import MENTION
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.access import Access, Hidden
from bridgekeeper.services.cards import incident_context
from bridgekeeper.services.dashboard import Dashboard, Figures
from bridgekeeper.services.report_facts import incident_facts
from bridgekeeper.services.report_filters import add_report_filters
from bridgekeeper.services.report_html import timeline_svg
from bridgekeeper.services.stats import IncidentStats, Stats
from bridgekeeper.store import incident_search
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import reports as report_store
from bridgekeeper.store import tasks as task_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.incident_search import IncidentFilter
from bridgekeeper.store.models import Alert, Incident, TimelineEntry

NAME_TTL = 300.0  # seconds a person's name is trusted
MENTIONS_NAMED = 50  # people typed into a page's entries whose names are asked of Slack
TIMELINE_MAX = 2000  # entries shown on one page (the report has them all)
SEPARATOR = "\x1e"
UserName = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class Listing:
    incidents: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class IncidentReader:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        access: Access,
        stats: IncidentStats,
        renderer: Renderer,
        user_name: UserName,
        clock: Clock,
    ) -> None:
        self.db = db
        self.settings = settings
        self.access = access
        self.stats_service = stats
        self.renderer = renderer
        self.user_name = user_name
        self.clock = clock
        self._names: dict[str, tuple[float, str]] = {}
        self.dashboard_service = Dashboard(
            db=db,
            stats=stats,
            clock=clock,
            regimes={r.name: r.title for r in settings.updates.regimes},
        )
        add_report_filters(renderer)  # the timeline's sentences are the report's

    # -- lists and counts ------------------------------------------------------------------------
    async def listing(
        self, *, user: str, wanted: IncidentFilter, page: int, per_page: int
    ) -> Listing:
        await self.access.prepare()  # who the incident managers are
        async with self.db.sessions() as session:
            private_ids = await self.access.visible_private(session, user=user)
            found, total = await incident_search.search(
                session=session,
                wanted=wanted,
                private_ids=private_ids,
                offset=(page - 1) * per_page,
                limit=per_page,
            )
            commanders = {
                i.id: (await incident_store.current_roles(session=session, incident_id=i.id)).get(
                    "commander"
                )
                for i in found
            }
        names = await self.names(c for c in commanders.values() if c)
        rows = [_row(i, commanders[i.id], names) for i in found]
        return Listing(rows, total, page, per_page)

    def sources(self) -> list[str]:
        """The alert sources the list's filter offers: the built-in and configured ones, not
        the ones seen (an outsider would learn which sources fired into private incidents)."""
        return sorted({*SOURCES, *self.settings.alerts.custom_sources, HEARTBEAT})

    async def stats(self, *, user: str, days: int) -> Stats:
        await self.access.prepare()
        async with self.db.sessions() as session:
            private_ids = await self.access.visible_private(session, user=user)
        return await self.stats_service.compute(days, private_ids=private_ids)

    async def dashboard(self, *, user: str, days: int) -> Figures:
        await self.access.prepare()
        async with self.db.sessions() as session:
            private_ids = await self.access.visible_private(session, user=user)
        return await self.dashboard_service.figures(days, private_ids=private_ids)

    # -- one incident ----------------------------------------------------------------------------
    async def _visible(self, session: DbSession, user: str, number: int) -> Incident | None:
        incident = await incident_store.get(session=session, number=number)
        if incident is None:
            return None
        try:
            await self.access.check(session, incident=incident, user=user, action="read")
        except Hidden:
            return None
        return incident

    async def may_read(self, *, user: str, number: int) -> bool:
        """Whether `user` may see incident `number` (False too when there is none)."""
        await self.access.prepare()
        async with self.db.sessions() as session:
            return await self._visible(session, user, number) is not None

    async def incident(self, *, user: str, number: int) -> dict[str, Any] | None:
        """Everything the incident page shows, or None (missing, or hidden from `user`)."""
        await self.access.prepare()
        async with self.db.sessions() as session:
            incident = await self._visible(session, user, number)
            if incident is None:
                return None
            facts = await incident_context(
                session=session, settings=self.settings, incident=incident
            )
            facts["tasks"] = await task_store.of_incident(session=session, incident_id=incident.id)
            facts["alerts"] = await incident_search.alerts_of(
                session=session, incident_id=incident.id
            )
            entries = await _timeline(session, incident.id)
            facts["report_versions"] = await report_store.versions(
                session=session, incident_id=incident.id
            )
        facts["timeline"] = await self._said(entries)
        facts["timeline_cut"] = len(entries) >= TIMELINE_MAX
        facts["picture"] = self._picture(incident, entries)
        facts["notes"] = [e for e in facts["timeline"] if e["kind"] == "note"]
        facts["names"] = await self.names(_people(facts))
        _time_left(facts["clocks"], self.clock.now())
        return facts

    def _picture(self, incident: Incident, entries: list[TimelineEntry]) -> Markup:
        """The report's timeline picture of the entries shown."""
        rows = (
            Entry(seq=e.seq, at=e.at, actor=e.actor, kind=e.kind, text=e.text, data=e.data or {})
            for e in entries
        )
        return timeline_svg(self.renderer, incident_facts(incident), rows, now=self.clock.now())

    async def timeline(self, *, user: str, number: int) -> list[dict[str, Any]] | None:
        await self.access.prepare()
        async with self.db.sessions() as session:
            incident = await self._visible(session, user, number)
            if incident is None:
                return None
            entries = await _timeline(session, incident.id)
        return await self._said(entries)

    async def alerts(self, *, user: str, number: int) -> list[Alert] | None:
        await self.access.prepare()
        async with self.db.sessions() as session:
            incident = await self._visible(session, user, number)
            if incident is None:
                return None
            return await incident_search.alerts_of(session=session, incident_id=incident.id)

    async def summary(self, *, user: str, number: int) -> dict[str, Any] | None:
        """The list's row of one incident (the API's incident)."""
        await self.access.prepare()
        async with self.db.sessions() as session:
            incident = await self._visible(session, user, number)
            if incident is None:
                return None
            roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        names = await self.names(roles.values())
        row = _row(incident, roles.get("commander"), names)
        row["roles"] = [{"role": r, "user": u, "name": names.get(u, u)} for r, u in roles.items()]
        row["impact"] = incident.impact or {}
        return row

    # -- people and sentences --------------------------------------------------------------------
    async def names(self, users: Iterable[str]) -> dict[str, str]:
        wanted = {u for u in users if u}
        stale = [
            u
            for u in wanted
            if time.monotonic() - self._names.get(u, (-NAME_TTL, ""))[0] >= NAME_TTL
        ]
        for user, name in zip(
            stale, await asyncio.gather(*map(self.user_name, stale)), strict=True
        ):
            self._names[user] = (time.monotonic(), name)
        return {u: self._names[u][1] for u in wanted}

    async def _said(self, entries: list[TimelineEntry]) -> list[dict[str, Any]]:
        rows = [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "kind": e.kind,
                "text": e.text,
                "data": e.data or {},
            }
            for e in entries
        ]
        names = await self.names(_mentioned(rows))
        sentences = self.renderer.text(
            "report/sentences.txt.j2", entries=rows, users=names, sep=SEPARATOR
        ).split(SEPARATOR)
        for row, said in zip(rows, sentences, strict=False):
            row["said"] = said.strip()
            row["actor_name"] = names.get(str(row["actor"]), str(row["actor"]))
        return rows


async def _timeline(session: DbSession, incident_id: int) -> list[TimelineEntry]:
    return await incident_store.timeline_page(
        session=session, incident_id=incident_id, offset=0, limit=TIMELINE_MAX
    )


def _row(incident: Incident, commander: str | None, names: dict[str, str]) -> dict[str, Any]:
    return {
        "number": incident.number,
        "title": incident.title,
        "severity": incident.severity,
        "severity_label": Severity(incident.severity).label,
        "stage": incident.stage,
        "stage_label": Stage(incident.stage).label,
        "status": incident.status,
        "private": incident.private,
        "declared_at": incident.declared_at,
        "closed_at": incident.closed_at,
        "commander": commander,
        "commander_name": names.get(commander or "", commander),
    }


def _mentioned(rows: list[dict[str, Any]]) -> set[str]:
    """Who a page names: actors, role holders and owners, and the first people typed into the
    entries' text (made-up ids could ask Slack any number of names)."""
    users, named = {str(r["actor"]) for r in rows}, dict[str, None]()
    for row in rows:
        users.update(
            str(row["data"][k]) for k in ("user", "previous", "owner") if row["data"].get(k)
        )
        named.update(dict.fromkeys(MENTION.findall(row["text"] or "")))
    return users | set(list(named)[:MENTIONS_NAMED])


def _people(facts: dict[str, Any]) -> set[str]:
    users = {r["user"] for r in facts["roles"] if r["user"]}
    users.update(t.owner for t in facts["tasks"] if t.owner)
    users.add(facts["incident"].declared_by)
    return users


def _time_left(clocks: list[dict[str, Any]], now: Any) -> None:
    for clock in clocks:
        due = clock["next"]["due_at"] if clock.get("next") else None
        clock["left"] = (due - now) if due else None
        clock["overdue"] = bool(due and due < now)
        clock["late_by"] = (now - due) if due and due < now else timedelta(0)
