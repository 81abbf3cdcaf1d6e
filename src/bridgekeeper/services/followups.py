"""Follow-ups: tasks marked to become issues in the team's tracker (`task <text> followup`).

`followups` lists them with their issues' state; `followups export` (and closing the incident)
queues the issues: each follow-up gets its `followups` row, the intent, in the same transaction
as a `tracker_issue` effect, which services/followup_sync.py delivers.
"""

from __future__ import annotations

from datetime import datetime

from bridgekeeper.domain import commands as c
from bridgekeeper.domain.closing import CloseForm
from bridgekeeper.domain.effects import TrackerIssue
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import followups as followup_store
from bridgekeeper.store import outbox
from bridgekeeper.store import tasks as task_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Followup, Incident, Task

EFFECT = "tracker_issue"


def marker(incident_number: int, task_number: int) -> str:
    """The label that finds a follow-up's issue again, whatever happened to our answer."""
    return f"bridgekeeper-{incident_number}-{task_number}"


class Followups:
    def __init__(self, incidents: IncidentService) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.tracker = incidents.settings.trackers.kind

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.ListFollowups, self.list_followups)
        runner.on(c.ExportFollowups, self.export)

    async def list_followups(self, command: c.ListFollowups, inv: Invocation) -> Reply:
        async with self.db.sessions() as session:
            incident = await self.incidents.locate(
                session,
                user=inv.user,
                action="read",
                number=command.incident,
                channel=inv.channel,
                subcommand="followups",
                open_only=False,
            )
            rows = await followup_store.listed(session=session, incident_id=incident.id)
        return Reply(
            "slack/followups.md.j2", {"incident": incident, "rows": rows, "tracker": self.tracker}
        )

    async def export(self, command: c.ExportFollowups, inv: Invocation) -> Reply:
        if self.tracker is None:
            raise CommandRefused("refused/no_tracker.md.j2")
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=inv.user,
                action="task",
                number=command.incident,
                channel=inv.channel,
                subcommand="followups",
                open_only=False,
            )
            queued = await self.queue(session, incident=incident, actor=inv.user)
        return Reply("slack/followups_exported.md.j2", {"count": queued, "tracker": self.tracker})

    async def at_close(
        self, session: DbSession, *, incident: Incident, actor: str, form: CloseForm
    ) -> int:
        """Closing queues the follow-ups' issues; the close form's follow-ups join them as
        follow-up tasks when its tracker box is ticked."""
        if form.to_tracker and self.tracker is not None:
            await self._add_tasks(session, incident=incident, actor=actor, form=form)
        return await self.queue(session, incident=incident, actor=actor)

    async def _add_tasks(
        self, session: DbSession, *, incident: Incident, actor: str, form: CloseForm
    ) -> None:
        now = self.clock.now()
        last = await task_store.last_number(session=session, incident_id=incident.id)
        for number, item in enumerate(form.follow_ups, start=last + 1):
            task = Task(
                incident_id=incident.id,
                number=number,
                text=item.text,
                owner=item.owner,
                followup=True,
                created_by=actor,
                created_at=now,
            )
            session.add(task)
            await self.incidents.record(
                session,
                incident=incident,
                actor=actor,
                kind="task_added",
                text=item.text,
                data={"number": number, "owner": item.owner, "followup": True},
                announce=False,
            )
        await session.flush()

    async def queue(self, session: DbSession, *, incident: Incident, actor: str) -> int:
        """Queue an issue for each follow-up that has none yet: how many (none without a
        tracker configured)."""
        if self.tracker is None:
            return 0
        now = self.clock.now()
        waiting = await followup_store.waiting(session=session, incident_id=incident.id)
        numbers = [self._add(session, incident, task, now) for task in waiting]
        await session.flush()
        if numbers:
            await self.incidents.record(
                session,
                incident=incident,
                actor=actor,
                kind="followups_exported",
                data={"tasks": numbers, "tracker": self.tracker},
                announce=False,
            )
        return len(numbers)

    def _add(self, session: DbSession, incident: Incident, task: Task, now: datetime) -> int:
        assert self.tracker is not None
        row = Followup(
            task_id=task.id,
            incident_id=incident.id,
            tracker=self.tracker,
            marker=marker(incident.number, task.number),
            called=False,
            done=False,
            created_at=now,
        )
        session.add(row)
        outbox.enqueue(session, TrackerIssue(task=task.id), now=now, incident_id=incident.id)
        return task.number
