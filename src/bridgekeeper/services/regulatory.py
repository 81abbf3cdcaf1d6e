"""Regulatory notification clocks: `/incident notify <regime> [awareness time]`, `notify done`,
`notify none`, and the reminders before each deadline.

A clock starts at the time of awareness (the declaration, or a time given with the command) and
holds the regime's deadlines. `notify done` records the next deadline as met (who, when); when all
are met the clock is done. `notify none` records the decision not to notify, with its rationale.
Reminders (half time, 80 %, one hour before, at the deadline) go to the bridge channel, naming
the commander and the regime's contacts, and to each contact person directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.domain import commands as c
from bridgekeeper.domain import reminders
from bridgekeeper.domain.reminders import DueDeadline, Regime
from bridgekeeper.effects import outbox
from bridgekeeper.errors import CommandRefused
from bridgekeeper.rendering import Mrkdwn, user_mention
from bridgekeeper.scheduling import jobs
from bridgekeeper.scheduling.scheduler import Outcome, Scheduler
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Incident, NotificationClock, ScheduledJob

JOB_KIND = "notify_reminder"


def clock_job(clock_id: int) -> str:
    return f"notify-reminder:{clock_id}"


def open_deadlines(clock: NotificationClock) -> list[DueDeadline]:
    return [
        DueDeadline(str(d["label"]), datetime.fromisoformat(str(d["due_at"])))
        for d in clock.deadlines
        if not d.get("done_at")
    ]


def summary(clock: NotificationClock, titles: dict[str, str]) -> dict[str, Any]:
    """A clock as the status card and the report show it."""
    remaining = open_deadlines(clock)
    return {
        "name": clock.regime,
        "regime": titles.get(clock.regime, clock.regime.upper()),
        "status": clock.status,
        "aware_at": clock.aware_at,
        "started_by": clock.started_by,
        "next": remaining[0] if remaining and clock.status == "open" else None,
        "deadlines": [
            {
                **d,
                "due_at": datetime.fromisoformat(str(d["due_at"])),
                "done_at": datetime.fromisoformat(str(d["done_at"])) if d.get("done_at") else None,
            }
            for d in clock.deadlines
        ],
        "decided_by": clock.decided_by,
        "decided_at": clock.decided_at,
        "rationale": clock.rationale,
    }


async def clocks(session: AsyncSession, incident_id: int) -> list[NotificationClock]:
    query = select(NotificationClock).where(NotificationClock.incident_id == incident_id)
    return list(await session.scalars(query.order_by(NotificationClock.id)))


async def clock_summaries(
    session: AsyncSession, incident_id: int, titles: dict[str, str]
) -> list[dict[str, Any]]:
    """Every clock of the incident, for the status card (open ones) and the report (all)."""
    return [summary(clock, titles) for clock in await clocks(session, incident_id)]


class Regulatory:
    def __init__(self, incidents: IncidentService, scheduler: Scheduler) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.regimes = {regime.name: regime for regime in self.settings.updates.regimes}
        scheduler.on(JOB_KIND, self.fire)

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.Notify, self.start)
        runner.on(c.NotifyDone, self.done)
        runner.on(c.NotifyNotRequired, self.not_required)

    def regime(self, name: str) -> Regime:
        regime = self.regimes.get(name.casefold())
        if regime is None:
            raise CommandRefused(
                "slack/notify_unknown.md.j2", regime=name,
                known=[{"name": r.name, "title": r.title} for r in self.regimes.values()],
            )  # fmt: skip
        return regime

    # -- commands ---------------------------------------------------------------------------------
    async def start(self, command: c.Notify, inv: Invocation) -> Reply:
        regime = self.regime(command.regime)
        now = self.clock.now()
        if command.aware_at is not None and command.aware_at > now:
            raise CommandRefused("slack/notify_refused.md.j2", problem="future",
                                 regime=regime.title, aware_at=command.aware_at)  # fmt: skip
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv)
            existing = await self._find(session, incident, regime)
            if existing is not None:
                raise CommandRefused("slack/notify_refused.md.j2", problem="started",
                                     regime=regime.title, since=existing.aware_at)  # fmt: skip
            aware_at = command.aware_at or incident.declared_at
            due = reminders.deadlines(regime, aware_at)
            clock = NotificationClock(
                incident_id=incident.id, regime=regime.name, aware_at=aware_at,
                started_by=inv.user, started_at=now, status="open",
                deadlines=[{"label": d.label, "due_at": d.due_at.isoformat(), "done_at": None,
                            "done_by": None} for d in due],
            )  # fmt: skip
            session.add(clock)
            await session.flush()
            await self._schedule(session, clock, after=now)
            await self.incidents.record(
                session, incident=incident, actor=inv.user, kind="notification_clock_started",
                data={"regime": regime.name, "aware_at": aware_at.isoformat(),
                      "deadlines": [{"label": d.label, "due_at": d.due_at.isoformat()}
                                    for d in due]},
                announce=False,
            )  # fmt: skip
            context = {"incident": incident, "regime": regime, "aware_at": aware_at,
                       "deadlines": due, "user": inv.user, "now": now}  # fmt: skip
            self._post(session, incident, "bridge", "slack/notify_started.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "started"})

    async def done(self, command: c.NotifyDone, inv: Invocation) -> Reply:
        regime = self.regime(command.regime)
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv)
            clock = await self._open_clock(session, incident, regime)
            deadlines = [dict(d) for d in clock.deadlines]
            met = next(d for d in deadlines if not d.get("done_at"))
            met.update(done_at=now.isoformat(), done_by=inv.user)
            clock.deadlines = deadlines
            remaining = open_deadlines(clock)
            if not remaining:
                clock.status, clock.decided_by, clock.decided_at = "done", inv.user, now
            await self._schedule(session, clock, after=now)
            await self.incidents.record(
                session, incident=incident, actor=inv.user, kind="notification_sent",
                data={"regime": regime.name, "deadline": met["label"],
                      "due_at": met["due_at"], "late": now > datetime.fromisoformat(
                          str(met["due_at"]))},
                announce=False,
            )  # fmt: skip
            context = {"incident": incident, "regime": regime, "label": met["label"],
                       "due_at": datetime.fromisoformat(str(met["due_at"])), "user": inv.user,
                       "now": now, "remaining": remaining}  # fmt: skip
            self._post(session, incident, "bridge", "slack/notify_done.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "done"})

    async def not_required(self, command: c.NotifyNotRequired, inv: Invocation) -> Reply:
        regime = self.regime(command.regime)
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv)
            clock = await self._find(session, incident, regime)
            if clock is not None and clock.status != "open":
                raise CommandRefused("slack/notify_refused.md.j2", problem="decided",
                                     regime=regime.title, status=clock.status)  # fmt: skip
            if clock is None:  # deciding not to notify needs no running clock
                clock = NotificationClock(
                    incident_id=incident.id, regime=regime.name, aware_at=incident.declared_at,
                    started_by=inv.user, started_at=now, deadlines=[],
                )  # fmt: skip
                session.add(clock)
            clock.status, clock.decided_by, clock.decided_at = "not_required", inv.user, now
            clock.rationale = command.rationale
            await session.flush()
            await self._schedule(session, clock, after=now)
            await self.incidents.record(
                session, incident=incident, actor=inv.user, kind="notification_not_required",
                text=command.rationale, data={"regime": regime.name}, announce=False,
            )  # fmt: skip
            context = {"incident": incident, "regime": regime, "rationale": command.rationale,
                       "user": inv.user, "now": now}  # fmt: skip
            self._post(session, incident, "bridge", "slack/notify_none.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "none"})

    async def _locate(self, session: AsyncSession, number: int | None, inv: Invocation) -> Incident:
        """Clocks outlive the incident: they may be started and settled after it closed."""
        return await self.incidents.locate(session, user=inv.user, action="notify",
                                           number=number, channel=inv.channel,
                                           subcommand="notify", open_only=False)  # fmt: skip

    async def _find(
        self, session: AsyncSession, incident: Incident, regime: Regime
    ) -> NotificationClock | None:
        query = select(NotificationClock).where(
            NotificationClock.incident_id == incident.id, NotificationClock.regime == regime.name
        )
        return await session.scalar(query)

    async def _open_clock(
        self, session: AsyncSession, incident: Incident, regime: Regime
    ) -> NotificationClock:
        clock = await self._find(session, incident, regime)
        if clock is None:
            raise CommandRefused("slack/notify_refused.md.j2", problem="not_started",
                                 regime=regime.title, command_name=regime.name)  # fmt: skip
        if clock.status != "open" or not open_deadlines(clock):
            raise CommandRefused("slack/notify_refused.md.j2", problem="decided",
                                 regime=regime.title, status=clock.status)  # fmt: skip
        return clock

    async def _schedule(
        self, session: AsyncSession, clock: NotificationClock, *, after: datetime
    ) -> None:
        due = None
        if clock.status == "open":
            due = reminders.next_reminder(clock.aware_at, open_deadlines(clock), after)
        await jobs.put(session, job_id=clock_job(clock.id), kind=JOB_KIND,
                       incident_id=clock.incident_id, due_at=due,
                       payload={"clock_id": clock.id})  # fmt: skip

    # -- reminders (the scheduler holds the incident row locked) ----------------------------------
    async def fire(self, session: AsyncSession, job: ScheduledJob, now: datetime) -> Outcome:
        clock = await session.get(NotificationClock, int(job.payload["clock_id"]))
        if clock is None or clock.status != "open":
            return Outcome(False, None)  # done or decided in the meantime
        remaining = open_deadlines(clock)
        after = max(job.fired_at or clock.started_at, clock.started_at)
        due = reminders.due_reminder(clock.aware_at, remaining, after, now)
        next_due = reminders.next_reminder(clock.aware_at, remaining, now)
        if due is None:
            return Outcome(False, next_due)
        incident = await incident_store.get_by_id(session=session, incident_id=clock.incident_id)
        regime = self.regimes.get(clock.regime) or Regime(clock.regime, clock.regime.upper(), ())
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        contacts = self._contacts(regime)
        context = {
            "incident": incident, "regime": regime, "deadline": due.deadline,
            "overdue": now >= due.deadline.due_at, "left": due.deadline.due_at - now,
            "mentions": self._mentions(roles.get("commander"), contacts),
        }  # fmt: skip
        self._post(session, incident, "bridge", "slack/reminder_notify.md.j2", context, now)
        for user in contacts:
            if user.startswith(("U", "W")) and user != roles.get("commander"):
                self._post(session, incident, user, "slack/reminder_notify.md.j2",
                           {**context, "direct": True}, now)  # fmt: skip
        return Outcome(True, next_due)

    def _contacts(self, regime: Regime) -> list[str]:
        listed = [*self.settings.updates.regulatory_contacts, *regime.remind]
        return list(dict.fromkeys(listed))

    @staticmethod
    def _mentions(commander: str | None, contacts: list[str]) -> list[Mrkdwn]:
        """Mentions of the commander, the contact people and groups (ids checked by config)."""
        people = [commander] if commander else []
        people += [c for c in contacts if c not in people]
        return [Mrkdwn(f"<!subteam^{p}>") if p.startswith("S") else user_mention(p)
                for p in people]  # fmt: skip

    def _post(
        self, session: AsyncSession, incident: Incident, target: str, template: str,
        context: dict[str, Any], now: datetime,
    ) -> None:  # fmt: skip
        markup = self.renderer.slack(template, **context)
        outbox.add(session=session, now=now, kind="post", incident_id=incident.id,
                   payload={"target": target, "text": markup})  # fmt: skip
