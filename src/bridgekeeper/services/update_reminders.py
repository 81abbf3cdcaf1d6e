"""The reminders that keep stakeholders informed: a status update when the cadence for the
incident's severity has passed, a commander when nobody has the role, and the post-incident review
after the close. Each is a scheduled job kept in step with the incident by `sync()` after every
change; when one fires, it re-reads the incident and re-checks before posting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bridgekeeper.config import Settings
from bridgekeeper.domain import consequences, reminders
from bridgekeeper.domain.effects import Post
from bridgekeeper.domain.incidents import Severity, Status
from bridgekeeper.domain.reminders import ReminderPolicy, UpdateFacts
from bridgekeeper.scheduling.scheduler import Outcome, Scheduler
from bridgekeeper.services.incidents import IncidentService, leader
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import jobs, outbox
from bridgekeeper.store.db import DbSession
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


class UpdateReminders:
    def __init__(self, incidents: IncidentService, scheduler: Scheduler) -> None:
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.policy = policy(incidents.settings)
        scheduler.on("update_reminder", self.fire_update_reminder)
        scheduler.on("commander_reminder", self.fire_commander_reminder)
        scheduler.on("review_reminder", self.fire_review_reminder)

    async def sync(self, session: DbSession, incident: Incident, kind: str) -> None:
        """Called by IncidentService after each change: move or cancel the reminders."""
        if consequences.REMINDERS not in consequences.causes(kind):
            return
        ids = update_job(incident.id), commander_job(incident.id), review_job(incident.id)
        found = await jobs.get_many(session, ids)
        await self.sync_update(session, incident, found.get(ids[0]))
        commander = found.get(ids[1])
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        await jobs.place(
            session,
            commander,
            job_id=commander_job(incident.id),
            kind="commander_reminder",
            incident_id=incident.id,
            due_at=reminders.commander_due(
                open=incident.status == Status.OPEN,
                declared_at=incident.declared_at,
                has_commander="commander" in roles,
                reminded_at=commander.fired_at if commander else None,
                policy=self.policy,
            ),
        )
        review = found.get(ids[2])
        closed_at = await self._closed_at(session, incident, closing=kind == "closed")
        await jobs.place(
            session,
            review,
            job_id=review_job(incident.id),
            kind="review_reminder",
            incident_id=incident.id,
            due_at=reminders.review_due(
                closed_at=closed_at,
                reminded_at=review.fired_at if review else None,
                policy=self.policy,
            ),
        )

    async def _closed_at(
        self, session: DbSession, incident: Incident, *, closing: bool = False
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

    async def sync_update(
        self, session: DbSession, incident: Incident, job: ScheduledJob | None
    ) -> None:
        facts = await self._update_facts(session, incident, job)
        await jobs.place(
            session,
            job,
            job_id=update_job(incident.id),
            kind="update_reminder",
            incident_id=incident.id,
            due_at=reminders.update_due(facts, self.policy),
        )

    async def _update_facts(
        self, session: DbSession, incident: Incident, job: ScheduledJob | None
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
            promise_chosen=bool(last.data.get("next_update_chosen", True)) if last else True,
            reminded_at=job.fired_at if job is not None else None,
            snoozed_at=_iso(payload.get("snoozed_at")),
            snoozed_until=_iso(payload.get("snoozed_until")),
        )

    # -- firing (the scheduler holds the incident row locked) -------------------------------------
    async def fire_update_reminder(
        self, session: DbSession, job: ScheduledJob, now: datetime
    ) -> Outcome:
        incident = await incident_store.get_by_id(session=session, incident_id=_owner(job))
        facts = await self._update_facts(session, incident, job)
        due = reminders.update_due(facts, self.policy)
        if due is None or due > now:
            return Outcome(fired=False, next_due=due)  # an update came first, or it was moved
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        last = facts.last_update_at
        markup = self.renderer.slack(
            "slack/reminder_update.md.j2",
            incident=incident,
            commander=roles.get("commander"),
            since=last,
            severity=Severity(incident.severity).label,
            cadence=self.policy.cadence_for(Severity(incident.severity)),
            snooze=reminders.SNOOZE_MINUTES,
        )
        self._post(session, incident, "bridge", markup, now)
        return Outcome(True, reminders.update_due(replace(facts, reminded_at=now), self.policy))

    async def fire_commander_reminder(
        self, session: DbSession, job: ScheduledJob, now: datetime
    ) -> Outcome:
        incident = await incident_store.get_by_id(session=session, incident_id=_owner(job))
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        due = reminders.commander_due(
            open=incident.status == Status.OPEN,
            declared_at=incident.declared_at,
            has_commander="commander" in roles,
            reminded_at=job.fired_at,
            policy=self.policy,
        )
        if due is None or due > now:
            return Outcome(False, due)
        minutes = self.settings.updates.no_commander_minutes
        markup = self.renderer.slack(
            "slack/reminder_commander.md.j2", incident=incident, minutes=minutes
        )
        self._post(session, incident, "bridge", markup, now)
        return Outcome(True, None)

    async def fire_review_reminder(
        self, session: DbSession, job: ScheduledJob, now: datetime
    ) -> Outcome:
        incident = await incident_store.get_by_id(session=session, incident_id=_owner(job))
        closed_at = await self._closed_at(session, incident)
        due = reminders.review_due(
            closed_at=closed_at, reminded_at=job.fired_at, policy=self.policy
        )
        if due is None or due > now:
            return Outcome(False, due)
        owner = await leader(session, incident)
        markup = self.renderer.slack(
            "slack/reminder_review.md.j2",
            incident=incident,
            days=self.settings.updates.review_after_days,
        )
        self._post(session, incident, owner or "bridge", markup, now)
        return Outcome(True, None)

    def _post(
        self, session: DbSession, incident: Incident, target: str, markup: str, now: datetime
    ) -> None:
        outbox.enqueue(session, Post(target=target, text=markup), now=now, incident_id=incident.id)


def _owner(job: ScheduledJob) -> int:
    if job.incident_id is None:
        raise LookupError(f"scheduled job {job.id} has no incident")
    return job.incident_id
