"""Paging: `/incident page <team|@someone> [message]`, its escalation, and its acknowledgement.

A page is a `pages` row committed with everything it implies: a direct message with an
Acknowledge button to each person paged (through the outbox), an invitation to the bridge
channel (the paged become members, as with a role), a timeline entry announced in the bridge
channel, the team's PagerDuty event when it has a routing key (services/pagerduty.py), and the
escalation job (`page-escalation:<id>`). The scheduler fires that job exactly once under the
incident's lock: it re-reads the page and, if nobody acknowledged it, pages the next level of the
team's escalation policy (domain/paging.py) and re-arms itself, or marks the page exhausted.
Acknowledging stops it; closing the incident resolves every page still open.

A team whose schedule lives in PagerDuty or GoAlert is read through OnCallService.planned before
the page's transaction opens (and before an escalation's, in `prepare`); inside, those shifts
stand.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from bridgekeeper.config.oncall import USER_ID
from bridgekeeper.domain import commands as c
from bridgekeeper.domain import paging
from bridgekeeper.domain.closing import CloseForm
from bridgekeeper.domain.effects import PagerDutyEvent, Post
from bridgekeeper.domain.incidents import Status
from bridgekeeper.domain.oncall import Team
from bridgekeeper.domain.oncall_routing import labels_of, route_for
from bridgekeeper.domain.paging import Policy, Step
from bridgekeeper.errors import CommandRefused, IncidentNotFound
from bridgekeeper.scheduling.scheduler import Outcome, Scheduler
from bridgekeeper.services.directory import named_person
from bridgekeeper.services.incidents import BOT_ACTOR, IncidentService
from bridgekeeper.services.oncall import OnCallService, override_of
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import jobs, outbox
from bridgekeeper.store import oncall as oncall_store
from bridgekeeper.store import paging as page_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Alert, Incident, ScheduledJob
from bridgekeeper.store.paging import Page

JOB_KIND = "page_escalation"
EFFECT = "pagerduty_event"
ACTION = "page"  # the access check's action: any member of the incident


def page_job(page_id: int) -> str:
    return f"page-escalation:{page_id}"


class Paging:
    def __init__(
        self, incidents: IncidentService, scheduler: Scheduler, oncall: OnCallService
    ) -> None:
        self.incidents = incidents
        self.oncall = oncall
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        scheduler.on(JOB_KIND, self.fire, prepare=self.prepare)
        incidents.after_alert_declared.append(self.alert_declared)

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.Page, self.page)

    # -- paging -------------------------------------------------------------------------------
    async def page(self, command: c.Page, inv: Invocation) -> Reply:
        team = self._team(command.team) if command.team else None
        user = await self._resolve_user(command.user) if command.user else None
        if team is not None and self.oncall.schedules.tool(team):
            await self.oncall.planned(team, self.clock.now())  # read before the transaction
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=inv.user,
                action=ACTION,
                number=command.incident,
                channel=inv.channel,
                subcommand="page",
            )
            started = await self._start(session, incident, team, user, command.message, inv.user)
            if started is None:
                raise CommandRefused("refused/nobody_to_page.md.j2", team=team.name if team else "")
            row, people, policy = started
        return Reply(
            "slack/page_reply.md.j2",
            {
                "incident": incident,
                "team": row.team,
                "people": people,
                "delay": policy.delay,
                "pagerduty": row.pagerduty,
            },
        )

    async def alert_declared(self, session: DbSession, incident: Incident, alert: Alert) -> None:
        """An alert whose routing rule says `page` pages its team when declared an incident."""
        route = route_for(
            self.settings.oncall.routes,
            source=alert.source,
            resource=alert.resource,
            labels=labels_of(alert.raw or {}),
        )
        team = self.settings.oncall.team(route.team) if route and route.page else None
        if team is not None:
            await self._start(session, incident, team, None, alert.title, BOT_ACTOR)

    async def _start(
        self,
        session: DbSession,
        incident: Incident,
        team: Team | None,
        user: str | None,
        message: str | None,
        actor: str,
    ) -> tuple[Page, list[str], Policy] | None:
        """A new page and its first level, PagerDuty event and escalation; None: it would reach
        nobody (nothing is stored)."""
        now = self.clock.now()
        policy = self.settings.oncall.policy(team) if team else paging.user_policy(str(user))
        planned = await self._planned(session, team, now)
        first = _first_reached(policy, Step(1, 0), planned, now)
        if first is None:
            return None
        row = await self._new_page(session, incident, team, user, message, actor)
        await self._reach(session, incident, row, first, actor=actor, kind="page_sent")
        if row.pagerduty:
            self._pagerduty(session, row, "trigger", now)
        await self._schedule(session, row, now + policy.delay)
        return row, first[1], policy

    async def _new_page(
        self,
        session: DbSession,
        incident: Incident,
        team: Team | None,
        user: str | None,
        message: str | None,
        actor: str,
    ) -> Page:
        count = await page_store.count(session, incident.id)
        routed = team is not None and team.name in self.settings.oncall.pagerduty_keys
        row = Page(
            incident_id=incident.id,
            team=team.name if team else None,
            user_id=user,
            message=message,
            level=1,
            cycle=0,
            status=page_store.TRIGGERED,
            paged=[],
            created_by=actor,
            created_at=self.clock.now(),
            pagerduty=routed,
            dedup_key=f"bridgekeeper-{incident.number}-page-{(count or 0) + 1}",
        )
        session.add(row)
        await session.flush()
        return row

    async def _reach(
        self,
        session: DbSession,
        incident: Incident,
        row: Page,
        reached: tuple[Step, list[str]],
        *,
        actor: str,
        kind: str,
    ) -> None:
        """Page the people of a step: direct messages, invitations, the timeline."""
        step, people = reached
        now = self.clock.now()
        row.level, row.cycle = step.level, step.cycle
        row.paged = list(dict.fromkeys([*row.paged, *people]))
        await self.incidents.invite(session, incident=incident, users=people)
        context = {
            "incident": incident,
            "page": row,
            "by": row.created_by,
            "escalated": kind == "page_escalated",
        }
        text = self.renderer.slack("slack/page_dm.md.j2", **context)
        for person in people:
            outbox.enqueue(
                session, Post(target=person, text=text), now=now, incident_id=incident.id
            )
        await self.incidents.record(
            session,
            incident=incident,
            actor=actor,
            kind=kind,
            text=row.message or "",
            data={
                "page": row.id,
                "team": row.team,
                "user": row.user_id,
                "level": step.level,
                "cycle": step.cycle,
                "people": people,
            },
        )

    # -- escalating (the scheduler holds the incident row locked) -----------------------------
    async def prepare(self, payload: dict[str, Any]) -> None:
        """Before an escalation's transaction: read the team's paging tool, if it has one (its
        shifts last read stand when it cannot be)."""
        async with self.db.sessions() as session:
            row = await page_store.get(session, int(payload["page"]))
            team = self.settings.oncall.team(row.team) if row and row.team else None
        if team is not None and self.oncall.schedules.tool(team):
            with contextlib.suppress(CommandRefused):
                await self.oncall.planned(team, self.clock.now())

    async def fire(self, session: DbSession, job: ScheduledJob, now: datetime) -> Outcome:
        row = await page_store.get(session, int(job.payload["page"]), lock=True)
        if row is None or row.status != page_store.TRIGGERED:
            return Outcome(False, None)  # acknowledged or resolved meanwhile
        incident = await incident_store.get_by_id(session=session, incident_id=row.incident_id)
        if incident.status != Status.OPEN:
            return Outcome(False, None)
        team = self.settings.oncall.team(row.team) if row.team else None
        policy = self._policy(row, team)
        following = paging.after(policy, Step(row.level, row.cycle))
        planned = await self._planned(session, team, now)
        reached = _first_reached(policy, following, planned, now) if following else None
        if reached is None:
            row.status, row.ended_at = page_store.EXHAUSTED, now
            await self.incidents.record(
                session,
                incident=incident,
                actor=BOT_ACTOR,
                kind="page_exhausted",
                data={"page": row.id, "team": row.team, "user": row.user_id, "people": row.paged},
            )
            return Outcome(True, None)
        await self._reach(session, incident, row, reached, actor=BOT_ACTOR, kind="page_escalated")
        return Outcome(True, now + policy.delay)

    def _policy(self, row: Page, team: Team | None) -> Policy:
        if team is not None:
            return self.settings.oncall.policy(team)
        return paging.user_policy(row.user_id or "")

    # -- acknowledging ------------------------------------------------------------------------
    async def acknowledge(self, *, page_id: int, user: str) -> Reply:
        """The Acknowledge button: whoever may see the incident (the paged are members). A
        second press, or a replayed request, changes nothing."""
        async with self.db.sessions() as session:
            found = await page_store.get(session, page_id)
            incident_id = found.incident_id if found else None
        if incident_id is None:
            raise IncidentNotFound(None)
        await self.incidents.access.prepare()
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session, user=user, action=ACTION, incident_id=incident_id, open_only=False
            )
            row = await page_store.get(session, page_id, lock=True)
            assert row is not None
            context = {"incident": incident, "page": row}
            if row.status != page_store.TRIGGERED:
                return Reply("slack/page_acked.md.j2", {**context, "already": True})
            row.status, row.acked_by, row.acked_at = page_store.ACKNOWLEDGED, user, now
            await jobs.put(
                session,
                job_id=page_job(row.id),
                kind=JOB_KIND,
                incident_id=incident.id,
                due_at=None,
            )
            await self.incidents.record(
                session,
                incident=incident,
                actor=user,
                kind="page_acknowledged",
                data={
                    "page": row.id,
                    "team": row.team,
                    "level": row.level,
                    "seconds": int((now - row.created_at).total_seconds()),
                },
            )
            if row.pagerduty:
                self._pagerduty(session, row, "acknowledge", now)
        return Reply("slack/page_acked.md.j2", {**context, "already": False})

    # -- closing ------------------------------------------------------------------------------
    async def at_close(
        self, session: DbSession, *, incident: Incident, actor: str, form: CloseForm
    ) -> int:
        """Closing resolves the incident's open pages, and their PagerDuty alerts: those of
        pages that ran out of people to escalate to too (PagerDuty still escalates them)."""
        now = self.clock.now()
        pages = await page_store.of_incident(session, incident.id)
        for row in pages:
            if row.status == page_store.EXHAUSTED and row.pagerduty:
                self._pagerduty(session, row, "resolve", now)
        open_pages = [
            row for row in pages if row.status in (page_store.TRIGGERED, page_store.ACKNOWLEDGED)
        ]
        for row in open_pages:
            row.status, row.ended_at = page_store.RESOLVED, now
            await jobs.put(
                session,
                job_id=page_job(row.id),
                kind=JOB_KIND,
                incident_id=incident.id,
                due_at=None,
            )
            if row.pagerduty:
                self._pagerduty(session, row, "resolve", now)
        return len(open_pages)

    # -- helpers ------------------------------------------------------------------------------
    def _pagerduty(self, session: DbSession, row: Page, action: str, now: datetime) -> None:
        outbox.enqueue(
            session,
            PagerDutyEvent(page=row.id, action=action),
            now=now,
            incident_id=row.incident_id,
        )

    async def _schedule(self, session: DbSession, row: Page, due: datetime) -> None:
        await jobs.put(
            session,
            job_id=page_job(row.id),
            kind=JOB_KIND,
            incident_id=row.incident_id,
            due_at=due,
            payload={"page": row.id},
        )

    async def _planned(self, session: DbSession, team: Team | None, now: datetime) -> Team | None:
        if team is None:
            return None
        if self.oncall.schedules.tool(team):
            return self.oncall.schedules.known(team)
        rows = await oncall_store.current(session=session, teams=[team.name], after=now)
        return team.with_overrides(override_of(row) for row in rows)

    def _team(self, name: str) -> Team:
        found = self.settings.oncall.team(name)
        if found is None:
            raise CommandRefused(
                "refused/no_such_team.md.j2",
                team=name,
                teams=[t.name for t in self.settings.oncall.teams],
            )
        return found

    async def _resolve_user(self, ref: c.UserRef) -> str:
        user = await named_person(self.incidents.directory, ref)
        if user is None:
            raise CommandRefused("refused/unknown_oncall_user.md.j2", user=ref.name or ref.id)
        return user


def _first_reached(
    policy: Policy, step: Step | None, team: Team | None, now: datetime
) -> tuple[Step, list[str]] | None:
    """The first step from `step` on that reaches somebody, and whom; None: none does."""
    tries = len(policy.levels) * (policy.repeat + 1)
    for _ in range(tries):
        if step is None:
            return None
        targets = paging.people(policy.levels[step.level - 1], team, now)
        people = [p for p in targets if USER_ID.fullmatch(p)]  # a tool may name one Slack lacks
        if people:
            return step, people
        step = paging.after(policy, step)
    return None
