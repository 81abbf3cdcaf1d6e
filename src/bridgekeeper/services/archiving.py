"""Archiving a closed incident's bridge channel `[close] archive_after_hours` after its close:
a last message in the channel, then the channel archived (`/incident reopen` unarchives it),
once the close's report is in it. The worker calls `run_due_archives` periodically."""

from __future__ import annotations

from datetime import datetime

from bridgekeeper.domain.effects import Archive, Post
from bridgekeeper.domain.incidents import Status
from bridgekeeper.services.incidents import BOT_ACTOR, IncidentService
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import outbox
from bridgekeeper.store import reports as report_store


class ArchivingService:
    def __init__(self, *, incidents: IncidentService) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.renderer = incidents.renderer

    async def run_due_archives(self, now: datetime | None = None) -> int:
        """Archive every closed incident's bridge channel whose delay has passed; returns how
        many. Safe to run anywhere, any number of times: each incident is claimed under lock."""
        now = now or self.clock.now()
        async with self.db.sessions() as session:
            due = await incident_store.due_archives(session=session, now=now)
        archived = 0
        for incident_id in due:
            archived += await self._archive(incident_id, now)
        return archived

    async def _archive(self, incident_id: int, now: datetime) -> bool:
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_id(
                session=session, incident_id=incident_id, lock=True
            )
            due = incident.archive_due_at
            if incident.status != Status.CLOSED or incident.archived_at or not due or due > now:
                return False
            # its reports are posted in the channel first: an earlier close's too, which
            # said its report would follow (closing.py)
            if await report_store.any_unfinished(session=session, incident_id=incident.id):
                return False
            incident.archived_at = self.clock.now()
            await self.incidents.record(
                session, incident=incident, actor=BOT_ACTOR, kind="archived", announce=False
            )
            text = self.renderer.slack("slack/close_archiving.md.j2", incident=incident)
            queued = self.clock.now()  # `now` may be a test's or the scheduler's moment
            outbox.enqueue(
                session, Post(target="bridge", text=text), now=queued, incident_id=incident.id
            )
            outbox.enqueue(session, Archive(), now=queued, incident_id=incident.id)
        return True
