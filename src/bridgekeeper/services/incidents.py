"""Incident use cases: each applies one change in a transaction with the effects it implies.

`record()` is the one way a change lands: a timeline entry (hash-chained, append-only), the
status card refreshed in place, the topic when it shows the change, and the entry posted to the
bridge channel so the team sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain.incidents import Severity, Stage, Status
from bridgekeeper.effects import outbox
from bridgekeeper.errors import (
    CommandRefused,
    IncidentNotFound,
    NotInBridgeChannel,
    PermissionDenied,
)
from bridgekeeper.rendering import Renderer
from bridgekeeper.services import stakeholders
from bridgekeeper.services.directory import Directory
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Incident, TimelineEntry

BOT_ACTOR = "bridgekeeper"  # the actor of what bridgekeeper does by itself
TOPIC_KINDS = {"severity_changed", "stage_changed", "role_assigned", "closed", "reopened"}
# Called after each change with (session, incident, kind): reminders follow the incident's state.
ChangeHook = Callable[[AsyncSession, Incident, str], Awaitable[None]]


@dataclass(frozen=True)
class Declared:
    number: int
    incident_id: int
    title: str


class IncidentService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        settings: Settings,
        renderer: Renderer,
        directory: Directory,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.renderer = renderer
        self.directory = directory
        self.after_change: list[ChangeHook] = []

    # -- declaring ----------------------------------------------------------------------------
    async def declare(
        self,
        *,
        user: str,
        title: str,
        severity: Severity | None = None,
        private: bool = False,
        detected_at: datetime | None = None,
        session: AsyncSession | None = None,
    ) -> Declared:
        if session is not None:
            return await self._declare(session, user, title, severity, private, detected_at)
        async with self.db.transaction() as new_session:
            return await self._declare(new_session, user, title, severity, private, detected_at)

    async def _declare(
        self,
        session: AsyncSession,
        user: str,
        title: str,
        severity: Severity | None,
        private: bool,
        detected_at: datetime | None,
    ) -> Declared:
        now = self.clock.now()
        severity = severity or self.settings.process.default_severity
        number = await incident_store.next_number(session=session)
        incident = Incident(
            number=number, title=title, severity=severity, initial_severity=severity,
            stage=Stage.DETECT, status=Status.OPEN, private=private, declared_by=user,
            declared_at=now, detected_at=detected_at or now, impact={},
            timeline_head="", timeline_length=0, version=0,
        )  # fmt: skip
        session.add(incident)
        await session.flush()
        await incident_store.append(
            session=session, incident=incident, at=now, recorded_at=now, actor=user,
            kind="declared", data={"title": title, "severity": severity.value,
                                   "private": private},
        )  # fmt: skip
        self._open_bridge(session=session, incident=incident, declarer=user)
        await self._changed(session, incident, "declared")
        return Declared(number=number, incident_id=incident.id, title=title)

    def _open_bridge(self, *, session: AsyncSession, incident: Incident, declarer: str) -> None:
        now = self.clock.now()
        outbox.add(session=session, now=now, kind="create_channel", incident_id=incident.id)
        if declarer != BOT_ACTOR:  # an automatic declaration (alert rule) has nobody to invite
            outbox.add(session=session, now=now, kind="invite", incident_id=incident.id,
                       payload={"users": [declarer]})  # fmt: skip
        outbox.add_card(session=session, now=now, incident_id=incident.id, card="status",
                        owner=incident.id, target="bridge", pin=True)  # fmt: skip
        outbox.add(session=session, now=now, kind="topic", incident_id=incident.id)
        if stakeholders.announces(self.settings, "declared", None):
            stakeholders.add_announcement(session, settings=self.settings, incident=incident,
                                          now=now)  # fmt: skip

    async def _changed(self, session: AsyncSession, incident: Incident, kind: str) -> None:
        for hook in self.after_change:
            await hook(session, incident, kind)

    # -- finding the incident a command is about ------------------------------------------------
    async def locate(
        self,
        session: AsyncSession,
        *,
        number: int | None,
        channel: str,
        subcommand: str,
        open_only: bool = True,
    ) -> Incident:
        """The incident named by number, else the one whose bridge channel this is (locked)."""
        if number is not None:
            incident = await incident_store.get(session=session, number=number, lock=True)
            if incident is None:
                raise IncidentNotFound(number)
        else:
            incident = await incident_store.get_by_channel(
                session=session, channel_id=channel, lock=True
            )
            if incident is None:
                raise NotInBridgeChannel(subcommand)
        if open_only and incident.status != Status.OPEN:
            raise CommandRefused("refused/incident_closed.md.j2", number=incident.number)
        return incident

    async def require(
        self, session: AsyncSession, *, incident: Incident, user: str, action: str
    ) -> None:
        """Refuse, naming who can, unless `user` may `action` (severity, close, reopen)."""
        allowed = self.settings.process.permissions.get(action, ())
        if "anyone" in allowed:
            return
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        if any(roles.get(role) == user for role in allowed):
            return
        group = self.settings.process.incident_managers_group
        if (
            "managers" in allowed
            and group
            and user in await self.directory.usergroup_members(group)
        ):
            return
        holders = [r for r in allowed if r not in ("managers", "anyone")]
        raise PermissionDenied(action, holders + (["managers"] if "managers" in allowed else []))

    # -- recording a change -----------------------------------------------------------------------
    async def record(
        self,
        session: AsyncSession,
        *,
        incident: Incident,
        actor: str,
        kind: str,
        text: str = "",
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
        source_key: str | None = None,
        announce: bool = True,
    ) -> TimelineEntry:
        now = self.clock.now()
        entry = await incident_store.append(
            session=session, incident=incident, at=at or now, recorded_at=now, actor=actor,
            kind=kind, text=text, data=data or {}, source_key=source_key,
        )  # fmt: skip
        outbox.add_card(session=session, now=now, incident_id=incident.id, card="status",
                        owner=incident.id, target="bridge")  # fmt: skip
        if kind in TOPIC_KINDS:
            outbox.add(session=session, now=now, kind="topic", incident_id=incident.id)
        if stakeholders.announces(self.settings, kind, data):
            stakeholders.add_announcement(session, settings=self.settings, incident=incident,
                                          now=now)  # fmt: skip
        if announce:
            markup = self.renderer.slack("slack/timeline_entry.md.j2", entry=entry)
            outbox.add(session=session, now=now, kind="post", incident_id=incident.id,
                       payload={"target": "bridge", "text": markup})  # fmt: skip
        await self._changed(session, incident, kind)
        return entry
