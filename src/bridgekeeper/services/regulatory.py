"""Regulatory notification clocks: `/incident notify <regime> [awareness time]`, `notify <regime>
classified|material|fixed [time]`, `notify done`, `notify none`, and the reminders before each
deadline.

A clock starts at the time of awareness (the declaration, or a time given with the command) and
holds the regime's deadlines (domain/regimes.py): some count from awareness, some from another
event recorded later (DORA's from the classification, the SEC's from the materiality
determination) and wait for it, some from the notification before. `notify done` records the
next deadline as met (who, when); when all are met the clock is done. `notify none` records the
decision not to notify, with its rationale. Reminders (half time, 80 %, one hour before, at the
deadline) go to the bridge channel, naming the commander and the regime's contacts, and to each
contact person directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain import commands as c
from bridgekeeper.domain import regimes
from bridgekeeper.domain.regimes import RegimeRule
from bridgekeeper.errors import CommandRefused
from bridgekeeper.scheduling.scheduler import Scheduler
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.regulatory_clocks import deadline, recompute, unsent
from bridgekeeper.services.regulatory_reminders import (
    NotificationReminders,
    bridge_or_commander,
    post,
)
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import notification_clocks as clock_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident, NotificationClock


class Regulatory:
    def __init__(self, incidents: IncidentService, scheduler: Scheduler) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.regimes = {regime.name: regime for regime in self.settings.updates.regimes}
        self.reminders = NotificationReminders(incidents, scheduler, self.regimes)

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.Notify, self.start)
        runner.on(c.NotifyEvent, self.event)
        runner.on(c.NotifyDone, self.done)
        runner.on(c.NotifyNotRequired, self.not_required)

    def regime(self, name: str) -> RegimeRule:
        regime = self.regimes.get(name.casefold())
        if regime is None:
            raise CommandRefused(
                "slack/notify_unknown.md.j2",
                regime=name,
                known=[{"name": r.name, "title": r.title} for r in self.regimes.values()],
            )
        return regime

    # -- commands ---------------------------------------------------------------------------------
    async def start(self, command: c.Notify, inv: Invocation) -> Reply:
        regime = self.regime(command.regime)
        now = self.clock.now()
        self._not_future(command.aware_at, now, regime, "awareness")
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv)
            existing = await self._find(session, incident, regime)
            if existing is not None:
                raise CommandRefused(
                    "slack/notify_refused.md.j2",
                    problem="started",
                    regime=regime.title,
                    since=existing.aware_at,
                )
            clock = await self._start(session, incident, regime, command.aware_at, inv, now)
            context = self._context(incident, regime, clock, inv, now)
            await self._post(session, incident, "slack/notify_started.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "started"})

    async def event(self, command: c.NotifyEvent, inv: Invocation) -> Reply:
        """An event some deadlines count from; starts the clock (from the declaration) if needed."""
        regime = self.regime(command.regime)
        if command.event not in regimes.events_used(regime):
            raise CommandRefused(
                "slack/notify_refused.md.j2",
                problem="no_such_event",
                regime=regime.title,
                event=command.event,
                used=sorted(regimes.events_used(regime)),
            )
        now = self.clock.now()
        at = command.at or now
        self._not_future(at, now, regime, command.event)
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv)
            clock = await self._find(session, incident, regime)
            if clock is None:
                clock = await self._start(session, incident, regime, None, inv, now)
            recorded = (clock.events or {}).get(command.event)
            if recorded or clock.status != "open":
                raise CommandRefused(
                    "slack/notify_refused.md.j2",
                    problem="event_recorded",
                    regime=regime.title,
                    event=command.event,
                    since=datetime.fromisoformat(recorded) if recorded else None,
                    status=clock.status,
                )
            clock.events = {**(clock.events or {}), command.event: at.isoformat()}
            recompute(clock, regime)
            await self._schedule(session, clock, after=now)
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="notification_event",
                data={"regime": regime.name, "event": command.event, "at": at.isoformat()},
                announce=False,
            )
            context = {
                **self._context(incident, regime, clock, inv, now),
                "event": command.event,
                "at": at,
            }
            await self._post(session, incident, "slack/notify_event.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "event"})

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
            recompute(clock, regime)  # a deadline counted from this one now runs
            remaining = unsent(clock)
            if not remaining:
                clock.status, clock.decided_by, clock.decided_at = "done", inv.user, now
            await self._schedule(session, clock, after=now)
            due_at = datetime.fromisoformat(str(met["due_at"])) if met["due_at"] else None
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="notification_sent",
                data={
                    "regime": regime.name,
                    "deadline": met["label"],
                    "due_at": met["due_at"],
                    "late": bool(due_at and now > due_at),
                },
                announce=False,
            )
            context = {
                **self._context(incident, regime, clock, inv, now),
                "label": met["label"],
                "due_at": due_at,
                "remaining": remaining,
            }
            await self._post(session, incident, "slack/notify_done.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "done"})

    async def _start(
        self,
        session: DbSession,
        incident: Incident,
        regime: RegimeRule,
        aware_at: datetime | None,
        inv: Invocation,
        now: datetime,
    ) -> NotificationClock:
        clock = NotificationClock(
            incident_id=incident.id,
            regime=regime.name,
            aware_at=aware_at or incident.declared_at,
            started_by=inv.user,
            started_at=now,
            status="open",
            deadlines=[],
            events={},
        )
        recompute(clock, regime)
        session.add(clock)
        await session.flush()
        await self._schedule(session, clock, after=now)
        await self.incidents.record(
            session,
            incident=incident,
            actor=inv.user,
            kind="notification_clock_started",
            data={
                "regime": regime.name,
                "aware_at": clock.aware_at.isoformat(),
                "deadlines": [
                    {"label": d["label"], "due_at": d["due_at"]} for d in clock.deadlines
                ],
            },
            announce=False,
        )
        return clock

    @staticmethod
    def _not_future(at: datetime | None, now: datetime, regime: RegimeRule, event: str) -> None:
        if at is not None and at > now:
            raise CommandRefused(
                "slack/notify_refused.md.j2",
                problem="future",
                regime=regime.title,
                aware_at=at,
                event=event,
            )

    @staticmethod
    def _context(
        incident: Incident,
        regime: RegimeRule,
        clock: NotificationClock,
        inv: Invocation,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "incident": incident,
            "regime": regime,
            "aware_at": clock.aware_at,
            "deadlines": [deadline(d, clock) for d in clock.deadlines],
            "user": inv.user,
            "now": now,
        }

    async def not_required(self, command: c.NotifyNotRequired, inv: Invocation) -> Reply:
        regime = self.regime(command.regime)
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv)
            clock = await self._find(session, incident, regime)
            if clock is not None and clock.status != "open":
                raise CommandRefused(
                    "slack/notify_refused.md.j2",
                    problem="decided",
                    regime=regime.title,
                    status=clock.status,
                )
            if clock is None:  # deciding not to notify needs no running clock
                clock = NotificationClock(
                    incident_id=incident.id,
                    regime=regime.name,
                    aware_at=incident.declared_at,
                    started_by=inv.user,
                    started_at=now,
                    deadlines=[],
                )
                session.add(clock)
            clock.status, clock.decided_by, clock.decided_at = regimes.NOT_REQUIRED, inv.user, now
            clock.rationale = command.rationale
            await session.flush()
            await self._schedule(session, clock, after=now)
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="notification_not_required",
                text=command.rationale,
                data={"regime": regime.name},
                announce=False,
            )
            context = {
                "incident": incident,
                "regime": regime,
                "rationale": command.rationale,
                "user": inv.user,
                "now": now,
            }
            await self._post(session, incident, "slack/notify_none.md.j2", context, now)
        return Reply("slack/notify_reply.md.j2", {**context, "action": "none"})

    async def _locate(self, session: DbSession, number: int | None, inv: Invocation) -> Incident:
        """Clocks outlive the incident: they may be started and settled after it closed."""
        return await self.incidents.locate(
            session,
            user=inv.user,
            action="notify",
            number=number,
            channel=inv.channel,
            subcommand="notify",
            open_only=False,
        )

    async def _find(
        self, session: DbSession, incident: Incident, regime: RegimeRule
    ) -> NotificationClock | None:
        return await clock_store.find(session=session, incident_id=incident.id, regime=regime.name)

    async def _open_clock(
        self, session: DbSession, incident: Incident, regime: RegimeRule
    ) -> NotificationClock:
        clock = await self._find(session, incident, regime)
        if clock is None:
            raise CommandRefused(
                "slack/notify_refused.md.j2",
                problem="not_started",
                regime=regime.title,
                command_name=regime.name,
            )
        if clock.status != "open" or not unsent(clock):
            raise CommandRefused(
                "slack/notify_refused.md.j2",
                problem="decided",
                regime=regime.title,
                status=clock.status,
            )
        return clock

    async def _schedule(
        self, session: DbSession, clock: NotificationClock, *, after: datetime
    ) -> None:
        await self.reminders.schedule(session, clock, after=after)

    async def _post(
        self,
        session: DbSession,
        incident: Incident,
        template: str,
        context: dict[str, Any],
        now: datetime,
    ) -> None:
        where = await bridge_or_commander(session, incident)
        post(self.renderer, session, incident, where, template, context, now)
