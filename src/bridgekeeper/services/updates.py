"""Keeping stakeholders informed: status updates and snoozing the reminder to post one (the
reminders themselves are services/update_reminders.py).

An update is recorded on the timeline (kind "update_posted": the report's communications log),
posted to the bridge channel and to the stakeholder channel(s) for the incident's severity.
Private incidents show stakeholders only their number (or codename), severity and stage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bridgekeeper.domain import commands as c
from bridgekeeper.domain.effects import Post
from bridgekeeper.domain.incidents import Severity, Stage
from bridgekeeper.scheduling.scheduler import Scheduler
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.services.stakeholders import disclosure
from bridgekeeper.services.update_reminders import UPDATE_KIND, UpdateReminders, update_job
from bridgekeeper.store import jobs, outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident


class Updates:
    def __init__(self, incidents: IncidentService, scheduler: Scheduler) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.reminders = UpdateReminders(incidents, scheduler)

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.PostUpdate, self.post_update)

    # -- posting an update ------------------------------------------------------------------------
    async def sync(self, session: DbSession, incident: Incident, kind: str) -> None:
        """Called by IncidentService after each change: move or cancel the reminders."""
        await self.reminders.sync(session, incident, kind)

    async def post_update(self, command: c.PostUpdate, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=inv.user,
                action="update",
                number=command.incident,
                channel=inv.channel,
                subcommand="update",
            )
            channels = await self._publish(session, incident, user=inv.user, text=command.text)
        return Reply(
            "slack/update_posted.md.j2", {"number": incident.number, "channels": list(channels)}
        )

    async def post_from_modal(
        self,
        *,
        incident_id: int,
        user: str,
        text: str,
        stage: Stage | None,
        severity: Severity | None,
        next_in: timedelta | None,
    ) -> tuple[int, tuple[str, ...]]:
        """The "Post update" form: stage and severity change first, then the update is posted."""
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session, user=user, action="update", incident_id=incident_id
            )
            await self._change(
                session, incident, user=user, text=text, stage=stage, severity=severity
            )
            next_at = self.clock.now() + next_in if next_in else None
            channels = await self._publish(session, incident, user=user, text=text, next_at=next_at)
        return incident.number, channels

    async def _change(
        self,
        session: DbSession,
        incident: Incident,
        *,
        user: str,
        text: str,
        stage: Stage | None,
        severity: Severity | None,
    ) -> None:
        if severity is not None and severity != incident.severity:
            await self.incidents.require(session, incident=incident, user=user, action="severity")
            previous, incident.severity = incident.severity, severity
            await self.incidents.record(
                session,
                incident=incident,
                actor=user,
                kind="severity_changed",
                text=text,
                data={"from": previous, "to": severity.value},
            )
        if stage is not None and stage != incident.stage:
            previous, incident.stage = incident.stage, stage
            await self.incidents.record(
                session,
                incident=incident,
                actor=user,
                kind="stage_changed",
                data={"from": previous, "to": stage.value},
            )

    async def _publish(
        self,
        session: DbSession,
        incident: Incident,
        *,
        user: str,
        text: str,
        next_at: datetime | None = None,
    ) -> tuple[str, ...]:
        now = self.clock.now()
        severity = Severity(incident.severity)
        channels = self.settings.updates.channels_for(severity, self.settings.stakeholder_channel)
        cadence = self.reminders.policy.cadence_for(severity)
        promised = next_at or (now + cadence if cadence else None)  # told to stakeholders
        told = disclosure(self.settings, incident)
        await self.incidents.record(
            session,
            incident=incident,
            actor=user,
            kind=UPDATE_KIND,
            text=text,
            announce=False,
            data={
                "severity": severity.value,
                "stage": incident.stage,
                "channels": list(channels),
                "redacted": told["redacted"],  # the channels saw number, severity and stage
                "next_update_at": promised.isoformat() if promised else None,
                "next_update_chosen": next_at is not None,
            },
        )
        context: dict[str, Any] = {
            "incident": incident,
            "severity": severity.label,
            "stage": Stage(incident.stage).label,
            "text": text,
            "author": user,
            "at": now,
            "next_at": promised,
        }
        bridge = {"name": f"Incident {incident.number}", "redacted": False}
        markup = self.renderer.slack("slack/update.md.j2", **context, disclosure=bridge)
        outbox.enqueue(
            session, Post(target="bridge", text=markup), now=now, incident_id=incident.id
        )
        shown = self.renderer.slack("slack/update.md.j2", **context, disclosure=told)
        for channel in channels:
            outbox.enqueue(
                session, Post(target=channel, text=shown), now=now, incident_id=incident.id
            )
        return channels

    async def modal_context(self, incident_id: int, user: str) -> dict[str, Any]:
        """What the "Post update" form shows; refused like posting for those who may not."""
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session, user=user, action="update", incident_id=incident_id
            )
        return {
            "incident": incident,
            "stages": [s for s in self.settings.process.stages],
            "severities": list(Severity),
            "default_minutes": self.settings.updates.cadence_minutes.get(
                Severity(incident.severity)
            ),
        }

    # -- snoozing ---------------------------------------------------------------------------------
    async def snooze(self, *, incident_id: int, minutes: int, user: str) -> datetime | None:
        """Remind again in `minutes` (unless an update comes first); None: nothing to snooze."""
        now = self.clock.now()
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session, user=user, action="snooze", incident_id=incident_id
            )
            job = await jobs.get(session, update_job(incident.id))
            if job is None:
                return None
            until = now + timedelta(minutes=minutes)
            job.payload = {
                **(job.payload or {}),
                "snoozed_at": now.isoformat(),
                "snoozed_until": until.isoformat(),
                "snoozed_by": user,
            }
            await self.reminders.sync_update(session, incident, job)
        return until
