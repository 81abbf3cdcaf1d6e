"""Keeping stakeholders informed: status updates, the announcement, and the reminders to post
them (update cadence, a missing commander, the post-incident review).

An update is recorded on the timeline (kind "update_posted": the report's communications log),
posted to the bridge channel and to the stakeholder channel(s) for the incident's severity.
Private incidents show stakeholders only their number (or codename), severity and stage.
Reminder jobs are kept in step with the incident by `sync()`, which IncidentService calls after
every change; when a job fires, its handler re-reads the incident and re-checks before posting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.config import Settings
from bridgekeeper.domain import commands as c
from bridgekeeper.domain import consequences, reminders
from bridgekeeper.domain.incidents import Severity, Stage, Status
from bridgekeeper.domain.reminders import ReminderPolicy, UpdateFacts
from bridgekeeper.effects import outbox
from bridgekeeper.scheduling.scheduler import Outcome, Scheduler
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.services.stakeholders import disclosure
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import jobs
from bridgekeeper.store.models import Incident, ScheduledJob

UPDATE_KIND = "update_posted"


def update_job(incident_id: int) -> str:
    return f"update-reminder:{incident_id}"


def commander_job(incident_id: int) -> str:
    return f"commander-reminder:{incident_id}"


def review_job(incident_id: int) -> str:
    return f"review-reminder:{incident_id}"


def policy(settings: Settings) -> ReminderPolicy:
    cadence = {
        severity: timedelta(minutes=minutes) if minutes else None
        for severity, minutes in settings.updates.cadence_minutes.items()
    }
    return ReminderPolicy(
        cadence=cadence,
        no_commander=timedelta(minutes=settings.updates.no_commander_minutes),
        review_after=timedelta(days=settings.updates.review_after_days),
    )


def _iso(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class Updates:
    def __init__(self, incidents: IncidentService, scheduler: Scheduler) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.policy = policy(incidents.settings)
        scheduler.on("update_reminder", self.fire_update_reminder)
        scheduler.on("commander_reminder", self.fire_commander_reminder)
        scheduler.on("review_reminder", self.fire_review_reminder)

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.PostUpdate, self.post_update)

    # -- posting an update ------------------------------------------------------------------------
    async def post_update(self, command: c.PostUpdate, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session, user=inv.user, action="update", number=command.incident,
                channel=inv.channel, subcommand="update",
            )  # fmt: skip
            channels = await self._publish(session, incident, user=inv.user, text=command.text)
        return Reply("slack/update_posted.md.j2", {"number": incident.number,
                                                   "channels": list(channels)})  # fmt: skip

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
            incident = await self.incidents.locate(session, user=user, action="update",
                                                   incident_id=incident_id)  # fmt: skip
            await self._change(session, incident, user=user, text=text, stage=stage,
                               severity=severity)  # fmt: skip
            next_at = self.clock.now() + next_in if next_in else None
            channels = await self._publish(session, incident, user=user, text=text,
                                           next_at=next_at)  # fmt: skip
        return incident.number, channels

    async def _change(
        self, session: AsyncSession, incident: Incident, *, user: str, text: str,
        stage: Stage | None, severity: Severity | None,
    ) -> None:  # fmt: skip
        if severity is not None and severity != incident.severity:
            await self.incidents.require(session, incident=incident, user=user, action="severity")
            previous, incident.severity = incident.severity, severity
            await self.incidents.record(session, incident=incident, actor=user,
                                        kind="severity_changed", text=text,
                                        data={"from": previous, "to": severity.value})  # fmt: skip
        if stage is not None and stage != incident.stage:
            previous, incident.stage = incident.stage, stage
            await self.incidents.record(session, incident=incident, actor=user,
                                        kind="stage_changed",
                                        data={"from": previous, "to": stage.value})  # fmt: skip

    async def _publish(
        self, session: AsyncSession, incident: Incident, *, user: str, text: str,
        next_at: datetime | None = None,
    ) -> tuple[str, ...]:  # fmt: skip
        now = self.clock.now()
        severity = Severity(incident.severity)
        channels = self.settings.updates.channels_for(severity, self.settings.stakeholder_channel)
        cadence = self.policy.cadence_for(severity)
        await self.incidents.record(
            session, incident=incident, actor=user, kind=UPDATE_KIND, text=text, announce=False,
            data={"severity": severity.value, "stage": incident.stage, "channels": list(channels),
                  "next_update_at": next_at.isoformat() if next_at else None},
        )  # fmt: skip
        context: dict[str, Any] = {
            "incident": incident, "severity": severity.label,
            "stage": Stage(incident.stage).label, "text": text, "author": user, "at": now,
            "next_at": next_at or (now + cadence if cadence else None),
        }  # fmt: skip
        bridge = {"name": f"Incident {incident.number}", "redacted": False}
        markup = self.renderer.slack("slack/update.md.j2", **context, disclosure=bridge)
        outbox.add(session=session, now=now, kind="post", incident_id=incident.id,
                   payload={"target": "bridge", "text": markup})  # fmt: skip
        shown = self.renderer.slack(
            "slack/update.md.j2", **context, disclosure=disclosure(self.settings, incident)
        )
        for channel in channels:
            outbox.add(session=session, now=now, kind="post", incident_id=incident.id,
                       payload={"target": channel, "text": shown})  # fmt: skip
        return channels

    async def modal_context(self, incident_id: int, user: str) -> dict[str, Any]:
        """What the "Post update" form shows; refused like posting for those who may not."""
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(session, user=user, action="update",
                                                   incident_id=incident_id)  # fmt: skip
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
            incident = await self.incidents.locate(session, user=user, action="snooze",
                                                   incident_id=incident_id)  # fmt: skip
            job = await jobs.get(session, update_job(incident.id))
            if job is None:
                return None
            until = now + timedelta(minutes=minutes)
            job.payload = {**(job.payload or {}), "snoozed_at": now.isoformat(),
                           "snoozed_until": until.isoformat(), "snoozed_by": user}  # fmt: skip
            await self._sync_update(session, incident, job)
        return until

    # -- keeping the reminder jobs in step --------------------------------------------------------
    async def sync(self, session: AsyncSession, incident: Incident, kind: str) -> None:
        """Called by IncidentService after each change: move or cancel the reminders."""
        if consequences.REMINDERS not in consequences.causes(kind):
            return
        await self._sync_update(session, incident, await jobs.get(session, update_job(incident.id)))
        commander = await jobs.get(session, commander_job(incident.id))
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        await jobs.put(
            session, job_id=commander_job(incident.id), kind="commander_reminder",
            incident_id=incident.id,
            due_at=reminders.commander_due(
                open=incident.status == Status.OPEN, declared_at=incident.declared_at,
                has_commander="commander" in roles,
                reminded_at=commander.fired_at if commander else None, policy=self.policy,
            ),
        )  # fmt: skip
        review = await jobs.get(session, review_job(incident.id))
        closed_at = await self._closed_at(session, incident, closing=kind == "closed")
        await jobs.put(
            session, job_id=review_job(incident.id), kind="review_reminder",
            incident_id=incident.id,
            due_at=reminders.review_due(closed_at=closed_at,
                                        reminded_at=review.fired_at if review else None,
                                        policy=self.policy),
        )  # fmt: skip

    async def _closed_at(
        self, session: AsyncSession, incident: Incident, *, closing: bool = False
    ) -> datetime | None:
        """When a closed incident closed (None while open): its closed_at, else the entry."""
        if incident.status == Status.OPEN and not closing:
            return None
        if incident.closed_at is not None:
            return incident.closed_at
        closed = await incident_store.last_entry(
            session=session, incident_id=incident.id, kind="closed"
        )
        return closed.recorded_at if closed is not None else self.clock.now()

    async def _sync_update(
        self, session: AsyncSession, incident: Incident, job: ScheduledJob | None
    ) -> None:
        facts = await self._update_facts(session, incident, job)
        await jobs.put(session, job_id=update_job(incident.id), kind="update_reminder",
                       incident_id=incident.id,
                       due_at=reminders.update_due(facts, self.policy))  # fmt: skip

    async def _update_facts(
        self, session: AsyncSession, incident: Incident, job: ScheduledJob | None
    ) -> UpdateFacts:
        last = await incident_store.last_entry(
            session=session, incident_id=incident.id, kind=UPDATE_KIND
        )
        payload = job.payload if job is not None else {}
        return UpdateFacts(
            open=incident.status == Status.OPEN,
            severity=Severity(incident.severity),
            declared_at=incident.declared_at,
            last_update_at=last.recorded_at if last else None,
            promised_at=_iso(last.data.get("next_update_at")) if last else None,
            reminded_at=job.fired_at if job is not None else None,
            snoozed_at=_iso(payload.get("snoozed_at")),
            snoozed_until=_iso(payload.get("snoozed_until")),
        )

    # -- firing (the scheduler holds the incident row locked) -------------------------------------
    async def fire_update_reminder(
        self, session: AsyncSession, job: ScheduledJob, now: datetime
    ) -> Outcome:
        incident = await incident_store.get_by_id(session=session, incident_id=_owner(job))
        facts = await self._update_facts(session, incident, job)
        due = reminders.update_due(facts, self.policy)
        if due is None or due > now:
            return Outcome(fired=False, next_due=due)  # an update came first, or it was moved
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        last = facts.last_update_at
        markup = self.renderer.slack(
            "slack/reminder_update.md.j2", incident=incident, commander=roles.get("commander"),
            since=last, severity=Severity(incident.severity).label,
            cadence=self.policy.cadence_for(Severity(incident.severity)),
            snooze=reminders.SNOOZE_MINUTES,
        )  # fmt: skip
        self._post(session, incident, "bridge", markup, now)
        return Outcome(True, reminders.update_due(replace(facts, reminded_at=now), self.policy))

    async def fire_commander_reminder(
        self, session: AsyncSession, job: ScheduledJob, now: datetime
    ) -> Outcome:
        incident = await incident_store.get_by_id(session=session, incident_id=_owner(job))
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        due = reminders.commander_due(
            open=incident.status == Status.OPEN, declared_at=incident.declared_at,
            has_commander="commander" in roles, reminded_at=job.fired_at, policy=self.policy,
        )  # fmt: skip
        if due is None or due > now:
            return Outcome(False, due)
        minutes = self.settings.updates.no_commander_minutes
        markup = self.renderer.slack("slack/reminder_commander.md.j2", incident=incident,
                                     minutes=minutes)  # fmt: skip
        self._post(session, incident, "bridge", markup, now)
        return Outcome(True, None)

    async def fire_review_reminder(
        self, session: AsyncSession, job: ScheduledJob, now: datetime
    ) -> Outcome:
        incident = await incident_store.get_by_id(session=session, incident_id=_owner(job))
        closed_at = await self._closed_at(session, incident)
        due = reminders.review_due(closed_at=closed_at, reminded_at=job.fired_at,
                                   policy=self.policy)  # fmt: skip
        if due is None or due > now:
            return Outcome(False, due)
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        owner = roles.get("commander") or incident.declared_by
        markup = self.renderer.slack("slack/reminder_review.md.j2", incident=incident,
                                     days=self.settings.updates.review_after_days)  # fmt: skip
        self._post(session, incident, owner if owner.startswith(("U", "W")) else "bridge",
                   markup, now)  # fmt: skip
        return Outcome(True, None)

    def _post(
        self, session: AsyncSession, incident: Incident, target: str, markup: str, now: datetime
    ) -> None:
        outbox.add(session=session, now=now, kind="post", incident_id=incident.id,
                   payload={"target": target, "text": markup})  # fmt: skip


def _owner(job: ScheduledJob) -> int:
    if job.incident_id is None:
        raise LookupError(f"scheduled job {job.id} has no incident")
    return job.incident_id
