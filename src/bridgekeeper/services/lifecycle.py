"""The bridge team's daily work: declaring and listing incidents, then roles, severity, stages,
impact, notes, tasks, the timeline and the summary (closing and reopening: services/closing.py)."""

from __future__ import annotations

from typing import Any

from bridgekeeper.domain import commands as c
from bridgekeeper.domain import regimes
from bridgekeeper.domain.effects import Post, PostCard
from bridgekeeper.domain.incidents import (
    IMPACT_DIMENSIONS,
    Severity,
    Stage,
    suggested_severity,
)
from bridgekeeper.domain.indicators import extract
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services import indicators
from bridgekeeper.services.directory import named_person
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import outbox
from bridgekeeper.store import tasks as task_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident, Task

TIMELINE_PAGE = 25


class Lifecycle:
    """The `/incident` commands of an incident's daily work (`declare` and `list` too)."""

    def __init__(self, incidents: IncidentService) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings

    def register(self, runner: CommandRunner) -> None:
        for command, handler in (
            (c.Declare, self.declare),
            (c.ListIncidents, self.list_incidents),
            (c.AssignRole, self.assign_role),
            (c.ListRoles, self.list_roles),
            (c.SetSeverity, self.set_severity),
            (c.SetStage, self.set_stage),
            (c.SetImpact, self.set_impact),
            (c.AddNote, self.add_note),
            (c.AddTask, self.add_task),
            (c.CompleteTask, self.complete_task),
            (c.ListTasks, self.list_tasks),
            (c.ShowTimeline, self.show_timeline),
            (c.ShowSummary, self.show_summary),
        ):
            runner.on(command, handler)

    async def _locate(
        self,
        session: DbSession,
        command: Any,
        inv: Invocation,
        subcommand: str,
        action: str,
        open_only: bool = True,
        claims_commander: bool = False,
    ) -> Incident:
        return await self.incidents.locate(
            session,
            user=inv.user,
            action=action,
            number=command.incident,
            channel=inv.channel,
            subcommand=subcommand,
            open_only=open_only,
            by_number_anywhere=inv.from_card,
            claims_commander=claims_commander,
        )

    async def for_card(self, *, incident_id: int, user: str, action: str) -> Incident:
        """The incident a status card's button names, if `user` may `action` on it (opening the
        role form is allowed to whoever may take a vacant command)."""
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            return await self.incidents.locate(
                session,
                user=user,
                action=action,
                incident_id=incident_id,
                claims_commander=action == "role",
            )

    # -- declaring and listing --------------------------------------------------------------------
    async def declare(self, command: c.Declare, inv: Invocation) -> Reply:
        declared = await self.incidents.declare(
            user=inv.user,
            title=command.title,
            severity=command.severity,
            private=command.private,
        )
        return Reply("slack/declared.md.j2", {"number": declared.number, "title": declared.title})

    async def list_incidents(self, command: c.ListIncidents, inv: Invocation) -> Reply:
        async with self.db.sessions() as session:
            rows = []
            shown = await self.incidents.access.visible(
                session, user=inv.user, incidents=await incident_store.list_open(session=session)
            )
            for incident in shown:
                roles = await incident_store.current_roles(session=session, incident_id=incident.id)
                rows.append(
                    {
                        "incident": incident,
                        "commander": roles.get("commander"),
                        "severity": Severity(incident.severity).label,
                        "stage": Stage(incident.stage).label,
                    }
                )
        return Reply("slack/incident_list.md.j2", {"incidents": rows})

    # -- roles ----------------------------------------------------------------------------------
    async def assign_role(self, command: c.AssignRole, inv: Invocation) -> Reply:
        user = await self._resolve_user(command.user, command.role)
        now = self.clock.now()
        async with self.db.transaction() as session:
            claims = command.role == "commander" and user == inv.user
            incident = await self._locate(
                session, command, inv, "role", "role", claims_commander=claims
            )
            holders = await incident_store.current_roles(session=session, incident_id=incident.id)
            if holders.get(command.role) == user:
                raise CommandRefused("refused/same_role.md.j2", role=command.role, user=user)
            previous = await incident_store.assign_role(
                session=session,
                incident_id=incident.id,
                role=command.role,
                user_id=user,
                by=inv.user,
                at=now,
            )
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="role_assigned",
                data={"role": command.role, "user": user, "previous": previous},
                at=now,
            )
            await self.incidents.invite(session, incident=incident, users=[user])
            brief = self.incidents.renderer.slack(
                "slack/role_brief.md.j2", role=command.role, incident=incident
            )
            outbox.enqueue(session, Post(target=user, text=brief), now=now, incident_id=incident.id)
        return Reply(
            "slack/role_assigned.md.j2", {"role": command.role, "user": user, "previous": previous}
        )

    async def _resolve_user(self, ref: c.UserRef, role: str) -> str:
        user = await named_person(self.incidents.directory, ref)
        if user is None:
            raise CommandRefused("refused/unknown_user.md.j2", user=ref.name or ref.id, role=role)
        return user

    async def list_roles(self, command: c.ListRoles, inv: Invocation) -> Reply:
        async with self.db.sessions() as session:
            incident = await self._locate(session, command, inv, "roles", "read", open_only=False)
            roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        return Reply("slack/roles.md.j2", {"incident": incident, "holders": roles})

    # -- severity, stage, impact ------------------------------------------------------------------
    async def set_severity(self, command: c.SetSeverity, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self._locate(session, command, inv, "severity", "severity")
            previous = incident.severity
            if previous == command.severity:
                raise CommandRefused("refused/same_severity.md.j2", severity=command.severity.label)
            incident.severity = command.severity
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="severity_changed",
                text=command.reason,
                data={"from": previous, "to": command.severity.value},
            )
        return Reply(
            "slack/severity_changed.md.j2",
            {"previous": Severity(previous).label, "severity": command.severity.label},
        )

    async def set_stage(self, command: c.SetStage, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self._locate(session, command, inv, "stage", "stage")
            previous = incident.stage
            if previous == command.stage:
                raise CommandRefused("refused/same_stage.md.j2", stage=command.stage.label)
            incident.stage = command.stage
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="stage_changed",
                text=command.note or "",
                data={"from": previous, "to": command.stage.value},
            )
        return Reply("slack/stage_changed.md.j2", {"stage": command.stage.label})

    async def set_impact(self, command: c.SetImpact, inv: Invocation) -> Reply:
        given = {
            "confidentiality": command.confidentiality,
            "integrity": command.integrity,
            "availability": command.availability,
        }
        async with self.db.transaction() as session:
            incident = await self._locate(session, command, inv, "impact", "impact")
            impact = dict(incident.impact or {})
            impact.update({k: v.value for k, v in given.items() if v is not None})
            if command.personal_data is not None:
                impact["personal_data"] = command.personal_data
            suggested = suggested_severity(impact, self.settings.process.impact_severity)
            impact["suggested"] = suggested.value if suggested else None
            incident.impact = impact
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="impact_assessed",
                data={
                    **{k: impact.get(k) for k in IMPACT_DIMENSIONS},
                    "personal_data": impact.get("personal_data"),
                    "suggested": impact["suggested"],
                },
            )
        facts = {
            **dict.fromkeys(self.settings.updates.regulatory_facts, True),
            "personal_data": bool(impact.get("personal_data")),
        }
        return Reply(
            "slack/impact_assessed.md.j2",
            {
                "impact": impact,
                "current": Severity(incident.severity).label,
                "suggested": suggested.label if suggested else None,
                "regimes": regimes.suggestions(self.settings.updates.regimes, facts),
            },
        )

    # -- notes and tasks --------------------------------------------------------------------------
    async def add_note(self, command: c.AddNote, inv: Invocation) -> Reply:
        """Notes come in bursts: each is stored in a transaction shared with the others sent
        meanwhile (one commit for them all), in a savepoint of its own."""

        async def note(session: DbSession) -> int:
            incident = await self._locate(session, command, inv, "note", "note")
            entry = await self.incidents.record(
                session, incident=incident, actor=inv.user, kind="note", text=command.text
            )
            await indicators.record_found(
                session,
                incident_id=incident.id,
                found=extract(command.text),
                at=entry.at,
                source=indicators.seen_in("note", by=inv.user, at=entry.at),
            )
            return incident.number

        return Reply("slack/noted.md.j2", {"number": await self.db.shared_transaction(note)})

    async def add_task(self, command: c.AddTask, inv: Invocation) -> Reply:
        owner = await self._resolve_user(command.owner, "task") if command.owner else None
        async with self.db.transaction() as session:
            incident = await self._locate(session, command, inv, "task", "task")
            last = await task_store.last_number(session=session, incident_id=incident.id)
            task = Task(
                incident_id=incident.id,
                number=last + 1,
                text=command.text,
                owner=owner,
                followup=command.followup,
                created_by=inv.user,
                created_at=self.clock.now(),
            )
            session.add(task)
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="task_added",
                text=command.text,
                data={"number": task.number, "owner": owner, "followup": command.followup},
                at=task.created_at,
            )
        return Reply("slack/task_added.md.j2", {"task": task})

    async def complete_task(self, command: c.CompleteTask, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self._locate(session, command, inv, "task", "task")
            task = await task_store.numbered(
                session=session, incident_id=incident.id, number=command.number
            )
            if task is None:
                raise CommandRefused("refused/no_such_task.md.j2", number=command.number)
            if task.done_at is not None:
                raise CommandRefused("refused/task_already_done.md.j2", number=command.number)
            task.done_at, task.done_by = self.clock.now(), inv.user
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind="task_done",
                text=task.text,
                data={"number": task.number},
                at=task.done_at,
            )
        return Reply("slack/task_done.md.j2", {"task": task})

    async def list_tasks(self, command: c.ListTasks, inv: Invocation) -> Reply:
        async with self.db.sessions() as session:
            incident = await self._locate(session, command, inv, "tasks", "read", open_only=False)
            tasks = await task_store.of_incident(session=session, incident_id=incident.id)
        return Reply("slack/tasks.md.j2", {"incident": incident, "tasks": tasks})

    # -- reading ----------------------------------------------------------------------------------
    async def show_timeline(self, command: c.ShowTimeline, inv: Invocation) -> Reply:
        page = command.page or 1
        async with self.db.sessions() as session:
            incident = await self._locate(
                session, command, inv, "timeline", "read", open_only=False
            )
            count = await incident_store.timeline_count(session=session, incident_id=incident.id)
            pages = max(1, -(-count // TIMELINE_PAGE))
            page = min(page, pages)
            shown = await incident_store.timeline_page(
                session=session,
                incident_id=incident.id,
                offset=(page - 1) * TIMELINE_PAGE,
                limit=TIMELINE_PAGE,
            )
        return Reply(
            "slack/timeline.md.j2",
            {"incident": incident, "entries": shown, "page": page, "pages": pages},
        )

    async def show_summary(self, command: c.ShowSummary, inv: Invocation) -> Reply | None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self._locate(session, command, inv, "summary", "read", open_only=False)
            outbox.enqueue(
                session,
                PostCard(target=inv.channel, card="status", owner=incident.id),
                now=now,
                incident_id=incident.id,
            )
        return None
