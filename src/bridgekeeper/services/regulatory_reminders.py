"""Reminders of regulatory notification deadlines: a scheduled job per clock, moved on as its
deadlines are met, that reminds the bridge channel (and the regulatory contacts) before each one
is due and when it is overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain import reminders
from bridgekeeper.domain.effects import Post, to_person
from bridgekeeper.domain.regimes import RegimeRule
from bridgekeeper.rendering import Mrkdwn, Renderer, user_mention
from bridgekeeper.scheduling.scheduler import Outcome, Scheduler
from bridgekeeper.services.incidents import IncidentService, leader
from bridgekeeper.services.regulatory_clocks import open_deadlines
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import jobs, outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident, NotificationClock, ScheduledJob

JOB_KIND = "notify_reminder"


def clock_job(clock_id: int) -> str:
    return f"notify-reminder:{clock_id}"


class NotificationReminders:
    def __init__(
        self, incidents: IncidentService, scheduler: Scheduler, regimes: dict[str, RegimeRule]
    ) -> None:
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.regimes = regimes
        scheduler.on(JOB_KIND, self.fire)

    async def schedule(
        self, session: DbSession, clock: NotificationClock, *, after: datetime
    ) -> None:
        due = None
        if clock.status == "open":
            due = reminders.next_reminder(open_deadlines(clock), after)
        await jobs.put(
            session,
            job_id=clock_job(clock.id),
            kind=JOB_KIND,
            incident_id=clock.incident_id,
            due_at=due,
            payload={"clock_id": clock.id},
        )

    # -- the scheduler holds the incident row locked -------------------------------------------
    async def fire(self, session: DbSession, job: ScheduledJob, now: datetime) -> Outcome:
        clock = await session.get(NotificationClock, int(job.payload["clock_id"]))
        if clock is None or clock.status != "open":
            return Outcome(False, None)  # done or decided in the meantime
        remaining = open_deadlines(clock)
        after = max(job.fired_at or clock.started_at, clock.started_at)
        due = reminders.due_reminder(remaining, after, now)
        next_due = reminders.next_reminder(remaining, now)
        if due is None:
            return Outcome(False, next_due)
        incident = await incident_store.get_by_id(session=session, incident_id=clock.incident_id)
        regime = self.regimes.get(clock.regime) or RegimeRule(
            clock.regime, clock.regime.upper(), "", "", ()
        )  # a regime since removed from the settings
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        contacts = self._contacts(regime)
        context = {
            "incident": incident,
            "regime": regime,
            "deadline": due.deadline,
            "overdue": now >= due.deadline.due_at,
            "left": due.deadline.due_at - now,
            "mentions": self._mentions(roles.get("commander"), contacts),
        }
        where = await bridge_or_commander(session, incident)
        post(self.renderer, session, incident, where, "slack/reminder_notify.md.j2", context, now)
        for user in contacts:
            if to_person(user) and user != roles.get("commander"):
                direct = {**context, "direct": True}
                post(
                    self.renderer,
                    session,
                    incident,
                    user,
                    "slack/reminder_notify.md.j2",
                    direct,
                    now,
                )
        return Outcome(True, next_due)

    def _contacts(self, regime: RegimeRule) -> list[str]:
        listed = [*self.settings.updates.regulatory_contacts, *regime.remind]
        return list(dict.fromkeys(listed))

    @staticmethod
    def _mentions(commander: str | None, contacts: list[str]) -> list[Mrkdwn]:
        """Mentions of the commander, the contact people and groups (ids checked by config)."""
        people = [commander] if commander else []
        people += [c for c in contacts if c not in people]
        return [Mrkdwn(f"<!subteam^{p}>") if p.startswith("S") else user_mention(p) for p in people]


async def bridge_or_commander(session: DbSession, incident: Incident) -> str:
    """Where the incident's notification messages go: its bridge channel; once that is
    archived (a clock started, or still running, after the close), its commander by DM
    (else whoever declared it): Slack would refuse them all in the archived channel."""
    if incident.archived_at is None:
        return "bridge"
    return await leader(session, incident) or "bridge"


def post(
    renderer: Renderer,
    session: DbSession,
    incident: Incident,
    target: str,
    template: str,
    context: dict[str, Any],
    now: datetime,
) -> None:
    """A message about the incident's notifications, rendered now, into the outbox."""
    markup = renderer.slack(template, **context)
    outbox.enqueue(session, Post(target=target, text=markup), now=now, incident_id=incident.id)
