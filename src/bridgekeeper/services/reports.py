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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from bridgekeeper.clock import Clock
from bridgekeeper.domain import report as r
from bridgekeeper.domain.incidents import Status
from bridgekeeper.domain.report_as_closed import as_closed
from bridgekeeper.domain.report_timeline import COMMUNICATION_KINDS
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.evidence import evidence_facts
from bridgekeeper.services.indicators import appendix_row, confirmed
from bridgekeeper.services.report_build import PAGE_ROWS, PART_BYTES, Build, Loop, Sink, Timeline
from bridgekeeper.services.report_facts import (
    alert_facts,
    facts_from_record,
    facts_record,
    incident_facts,
    regulatory_clocks,
    role_spell,
    task_facts,
)
from bridgekeeper.services.report_filters import add_report_filters
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import reports as report_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Incident, Report

T = TypeVar("T")

FORMATS = ("md", "html", "json")
MEDIA_TYPES = {"md": "text/markdown", "html": "text/html", "json": "application/json"}
UserName = Callable[[str], Awaitable[str]]
ChannelName = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class Reserved:
    """A report version a close reserved: its rows' ids by format, filled in once compiled."""

    incident_id: int
    version: int
    ids: dict[str, int]
    upto: int  # the last timeline entry it shows (the close's)
    reserved_at: datetime  # its rows' created_at: changed when another process takes it over
    facts: r.IncidentFacts | None = None  # the incident as closed (None: as it is now)


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
        part_bytes: int = PART_BYTES,
    ) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer
        self.user_name = user_name
        self._names: dict[str, str] = {}
        self.channel_name = channel_name
        self._channels: dict[str, str] = {}
        self.page_rows = page_rows
        self.part_bytes = part_bytes
        self.building = 0  # reports being built in worker threads now
        add_report_filters(renderer)

    # -- compiling --------------------------------------------------------------------------------
    async def names(self, users: Iterable[str]) -> dict[str, str]:
        """Display names for user ids (Slack ids are opaque outside), asked once per process;
        one Slack could not give (the id stands in) is asked again for the next report."""
        found = {}
        for user in set(users):
            if user and user != r.BOT:
                found[user] = self._names.get(user) or await self.user_name(user)
        self._names.update((user, name) for user, name in found.items() if name != user)
        return found

    async def learn_channels(self, channels: Iterable[str]) -> None:
        """Learn the names of the channels updates went to (asked of Slack once per process,
        or again while it could not say; never inside a transaction: `source` then only reads
        what was learned)."""
        for channel in set(channels) - set(self._channels):
            name = await self.channel_name(channel)
            if name != channel:
                self._channels[channel] = name

    async def places(self, session: DbSession, incident: Incident) -> set[str]:
        """The channels this incident's updates went to, besides its bridge channel."""
        found = await report_store.data_of_kinds(
            session=session, incident_id=incident.id, kinds=COMMUNICATION_KINDS
        )
        return {str(ch) for data in found for ch in (data or {}).get("channels") or []}

    def channel_names(self, incident: Incident, channels: Iterable[str]) -> dict[str, str]:
        named = {c: self._channels[c] for c in channels if self._channels.get(c, c) != c}
        return {"bridge": incident.channel_name, **named} if incident.channel_name else named

    async def people(self, session: DbSession, incident: Incident) -> set[str]:
        """Everyone a report of this incident may name."""
        found = {incident.declared_by}
        found.update(await report_store.named_people(session=session, incident_id=incident.id))
        found.update(str(f.get("owner")) for f in incident.follow_ups or [] if f.get("owner"))
        return found

    async def source(
        self,
        session: DbSession,
        incident: Incident,
        *,
        version: int,
        users: dict[str, str] | None = None,
    ) -> r.ReportInput:
        """Everything a report is compiled from but the timeline (read page by page later)."""
        incident_id = incident.id
        return r.ReportInput(
            incident=incident_facts(incident),
            entries=(),
            roles=[
                role_spell(s)
                for s in await report_store.role_spells(session=session, incident_id=incident_id)
            ],
            tasks=[
                task_facts(t, f)
                for t, f in await report_store.tasks_with_issues(
                    session=session, incident_id=incident_id
                )
            ],
            alerts=[
                alert_facts(a)
                for a in await report_store.alerts_of(session=session, incident_id=incident_id)
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
        self,
        session: DbSession,
        incident: Incident,
        source: r.ReportInput,
        job: Callable[[Build], T],
        upto: int | None = None,
    ) -> T:
        """Run `job` on a Build of this incident's report in a worker thread; the timeline (up
        to entry `upto`, when given) is read through this session, page by page, by the event
        loop."""
        loop = Loop(asyncio.get_running_loop())

        async def fetch(after: int) -> Sequence[Any]:
            return await incident_store.timeline_rows(
                session=session,
                incident_id=incident.id,
                after=after,
                limit=self.page_rows,
                upto=upto,
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

    async def outline(
        self, session: DbSession, incident: Incident, *, version: int, users: dict[str, str]
    ) -> dict[str, Any]:
        """The report without its timeline's entries and actions (the Slack preview)."""
        source = await self.source(session, incident, version=version, users=users)
        return await self.in_thread(session, incident, source, Build.outline)

    # -- storing ----------------------------------------------------------------------------------
    async def reserve(self, session: DbSession, incident: Incident) -> Reserved:
        """The next version's rows, empty (inside the closing transaction): compiled once it
        commits (`compile`), shown once finished (`finish`)."""
        version = await report_store.last_version(session=session, incident_id=incident.id) + 1
        now = self.clock.now()
        facts = incident_facts(incident)
        rows = {fmt: self._empty(incident, version, fmt, now, facts) for fmt in FORMATS}
        session.add_all(rows.values())
        await session.flush()
        ids = {fmt: row.id for fmt, row in rows.items()}
        return Reserved(incident.id, version, ids, incident.timeline_length, now, facts)

    async def compile(self, reserved: Reserved) -> dict[str, str]:
        """Render a reserved version's formats and store each as it is rendered, in parts of
        UTF-8 (`Report.body`, then `report_parts`), each part in a short transaction of its own:
        no write lock is held while a long report is built. The sha256 of each format."""
        async with self.db.sessions() as session:
            incident = await incident_store.get_by_id(
                session=session, incident_id=reserved.incident_id
            )
            people = await self.people(session, incident)
            places = await self.places(session, incident)
        users = await self.names(people)  # asked of Slack outside any transaction
        await self.learn_channels(places)

        def job(build: Build) -> dict[str, str]:
            report = build.outline()
            sinks = {
                fmt: Sink(partial(store, build, report_id), self.part_bytes)
                for fmt, report_id in reserved.ids.items()
            }
            return {fmt: build.write(fmt, report, sink) for fmt, sink in sinks.items()}

        def store(build: Build, report_id: int, number: int, body: bytearray) -> None:
            part = self._store_part(report_id, number, body, reserved.reserved_at)
            build.timeline.loop.call(part)

        async with self.db.sessions() as session:
            incident = await incident_store.get_by_id(
                session=session, incident_id=reserved.incident_id
            )
            source = await self.source(session, incident, version=reserved.version, users=users)
            if reserved.facts is not None:  # what changed since the close is not its report's
                closed = await incident_store.recorded_at(
                    session=session, incident_id=incident.id, seq=reserved.upto
                )
                source = as_closed(replace(source, incident=reserved.facts), closed)
            return await self.in_thread(session, incident, source, job, upto=reserved.upto)

    async def _store_part(
        self, report_id: int, number: int, body: bytearray, reserved_at: datetime
    ) -> None:
        async with self.db.transaction() as session:
            await report_store.add_part(
                session=session,
                report_id=report_id,
                number=number,
                body=body,
                reserved_at=reserved_at,
            )

    async def finish(self, session: DbSession, reserved: Reserved, digests: dict[str, str]) -> bool:
        """Record each format's sha256: the version is shown from now on. False when another
        process finished it first (a stopped close taken over)."""
        by_id = {reserved.ids[fmt]: digest for fmt, digest in digests.items()}
        return await report_store.finish(
            session=session, digests=by_id, reserved_at=reserved.reserved_at
        )

    async def take_over(self, before: datetime) -> Reserved | None:
        """The oldest version a close reserved before `before` and never finished (its process
        stopped while compiling it, or its compile failed), taken over: made new and emptied, to
        compile again. None when there is none, or another process took each first."""
        async with self.db.sessions() as session:
            stopped = await report_store.unfinished(session=session, before=before)
        for incident_id, version in stopped:
            now = self.clock.now()
            async with self.db.transaction() as session:
                ids = await report_store.claim_unfinished(
                    session=session,
                    incident_id=incident_id,
                    version=version,
                    before=before,
                    now=now,
                )
                upto = await report_store.compiled_upto(session=session, report_id=ids.get("md"))
                record = await report_store.as_closed(session=session, report_id=ids.get("md"))
            if ids:  # compiled from the incident as closed (as it is now for rows from before)
                facts = facts_from_record(record) if record else None
                return Reserved(incident_id, version, ids, upto, now, facts)
        return None

    @staticmethod
    def _empty(
        incident: Incident, version: int, fmt: str, now: datetime, facts: r.IncidentFacts
    ) -> Report:
        """A report row to fill in once its format is rendered, with the incident as closed."""
        return Report(
            incident_id=incident.id,
            version=version,
            format=fmt,
            body="",
            sha256="",
            timeline_head=incident.timeline_head,
            created_at=now,
            closed_at=incident.closed_at,
            closed_facts=facts_record(facts),
        )

    async def stored(
        self, number: int, fmt: str = "md", version: int | None = None, *, whole: bool = True
    ) -> StoredReport | None:
        """A stored report; `whole=False`: only its first part in `body` (see `rest`)."""
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            if incident is None:
                return None
            row = await report_store.latest(
                session=session, incident_id=incident.id, fmt=fmt, version=version, whole=whole
            )
            if row is None:
                return None
            return StoredReport(
                number=incident.number,
                version=row.version,
                format=fmt,
                body=row.text if whole else row.body,
                sha256=row.sha256,
                private=incident.private,
                created_at=row.created_at,
                report_id=row.id,
            )

    async def compiling(self, number: int) -> int | None:
        """`version_compiling`, for incident `number` (None if there is none)."""
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            return await version_compiling(session, incident) if incident else None

    async def rest(self, stored: StoredReport) -> AsyncIterator[str]:
        """The parts of a long report after its first, one at a time."""
        async with self.db.sessions() as session:
            async for body in report_store.parts(
                session=session, report_id=stored.report_id, first=1
            ):
                yield body

    async def versions(self, number: int) -> list[int]:
        async with self.db.sessions() as session:
            incident = await incident_store.get(session=session, number=number)
            if incident is None:
                return []
            return await report_store.versions(session=session, incident_id=incident.id)

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


async def version_compiling(session: DbSession, incident: Incident) -> int | None:
    """The version of a closed incident's report still to be compiled, if any (one whose
    compile failed is tried again later); None while the incident is open."""
    if incident.status != Status.CLOSED:
        return None
    return await report_store.compiling(session=session, incident_id=incident.id)


def sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()
