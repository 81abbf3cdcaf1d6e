"""Incident use cases: each applies one change in a transaction with the effects it implies.

`record()` is the one way a change lands: a timeline entry (hash-chained, append-only), the
status card refreshed in place when it shows the change (or its last redraw was parked), the
topic when it shows the change, and the entry posted to the bridge channel so the team sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain import consequences
from bridgekeeper.domain.effects import CreateChannel, Invite, Post, Topic, to_person
from bridgekeeper.domain.incidents import Severity, Stage, Status
from bridgekeeper.errors import (
    CommandRefused,
    IncidentNotFound,
    NotInBridgeChannel,
    PermissionDenied,
)
from bridgekeeper.rendering import Renderer
from bridgekeeper.services import stakeholders
from bridgekeeper.services.access import Access, Hidden
from bridgekeeper.services.directory import Directory
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import members, outbox
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Alert, Incident, TimelineEntry

BOT_ACTOR = "bridgekeeper"  # the actor of what bridgekeeper does by itself
# Called after each change with (session, incident, kind): reminders follow the incident's state.
ChangeHook = Callable[[DbSession, Incident, str], Awaitable[None]]
# Called with (session, incident, alert) when an alert is declared an incident (paging).
AlertDeclaredHook = Callable[[DbSession, Incident, Alert], Awaitable[None]]


@dataclass(frozen=True)
class Declared:
    number: int
    incident_id: int
    title: str
    # declared before from the same alert: "open" (the clicker joined), "closed", "private"
    earlier: str = ""


async def leader(session: DbSession, incident: Incident) -> str | None:
    """Who is told in person about the incident: its commander, else whoever declared it,
    when a person did (not bridgekeeper's own declarations)."""
    roles = await incident_store.current_roles(session=session, incident_id=incident.id)
    person = roles.get("commander") or incident.declared_by
    return person if to_person(person) else None


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
        self.access = Access(db=db, settings=settings, directory=directory, clock=clock)
        self.after_change: list[ChangeHook] = []
        self.after_alert_declared: list[AlertDeclaredHook] = []
        self._bridge_channels: set[str] = set()

    # -- declaring ----------------------------------------------------------------------------
    async def declare(
        self,
        *,
        user: str,
        title: str,
        severity: Severity | None = None,
        private: bool = False,
        detected_at: datetime | None = None,
        session: DbSession | None = None,
    ) -> Declared:
        if session is not None:
            return await self._declare(session, user, title, severity, private, detected_at)
        async with self.db.transaction() as new_session:
            return await self._declare(new_session, user, title, severity, private, detected_at)

    async def _declare(
        self,
        session: DbSession,
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
            number=number,
            title=title,
            severity=severity,
            initial_severity=severity,
            stage=Stage.DETECT,
            status=Status.OPEN,
            private=private,
            declared_by=user,
            declared_at=now,
            detected_at=detected_at or now,
            impact={},
            timeline_head="",
            timeline_length=0,
            version=0,
        )
        session.add(incident)
        await session.flush()
        commander = user if user != BOT_ACTOR else None  # whoever declares commands at first
        await incident_store.append(
            session=session,
            incident=incident,
            at=now,
            recorded_at=now,
            actor=user,
            kind="declared",
            data={
                "title": title,
                "severity": severity.value,
                "private": private,
                "commander": commander,
                "detected_at": incident.detected_at.isoformat(),
            },
        )
        if commander:
            await incident_store.assign_role(
                session=session,
                incident_id=incident.id,
                role="commander",
                user_id=user,
                by=user,
                at=now,
            )
        await self._open_bridge(session=session, incident=incident, declarer=user)
        await self._changed(session, incident, "declared")
        return Declared(number=number, incident_id=incident.id, title=title)

    async def _open_bridge(self, *, session: DbSession, incident: Incident, declarer: str) -> None:
        now = self.clock.now()
        outbox.enqueue(session, CreateChannel(), now=now, incident_id=incident.id)
        if declarer != BOT_ACTOR:  # an automatic declaration (alert rule) has nobody to invite
            await self.invite(session, incident=incident, users=[declarer])
        _draw_status_card(session, incident, now, pin=True)
        outbox.enqueue(session, Topic(), now=now, incident_id=incident.id)
        if stakeholders.announces(self.settings, "declared", None):
            await stakeholders.add_announcement(
                session, settings=self.settings, incident=incident, now=now
            )

    async def alert_declared(self, session: DbSession, incident: Incident, alert: Alert) -> None:
        """An alert was declared an incident (and attached to it)."""
        for hook in self.after_alert_declared:
            await hook(session, incident, alert)

    async def _changed(self, session: DbSession, incident: Incident, kind: str) -> None:
        for hook in self.after_change:
            await hook(session, incident, kind)

    # -- finding the incident a command is about, and whether the user may -------------------
    async def locate(
        self,
        session: DbSession,
        *,
        user: str,
        action: str,
        number: int | None = None,
        incident_id: int | None = None,
        channel: str = "",
        subcommand: str = "",
        open_only: bool = True,
        by_number_anywhere: bool = False,
        claims_commander: bool = False,
    ) -> Incident:
        """The incident named by id (a button or modal), number (typed outside its bridge
        channel) or channel (locked), once the access check has passed. An incident the user may
        not know of is answered exactly like one that does not exist. `by_number_anywhere`: the
        answer is seen only by the user (a card's form, the Link form) or shows nothing of the
        incident (reopen, whose archived channel takes no commands), so members may name a
        private incident by number from outside its channel."""
        incident, member = await incident_store.find_for(
            session=session,
            user=user,
            number=number,
            incident_id=incident_id,
            channel_id=channel,
            lock=True,
        )
        if incident is None:
            raise self._not_found(number, incident_id, subcommand)
        outside = number is not None and not by_number_anywhere and channel != incident.channel_id
        try:
            await self.access.check(
                session,
                incident=incident,
                user=user,
                action=action,
                addressed_from_outside=outside,
                stored_member=member,
                claims_commander=claims_commander,
            )
        except Hidden:
            raise self._not_found(number, incident_id, subcommand) from None
        if open_only and incident.status != Status.OPEN:
            raise CommandRefused("refused/incident_closed.md.j2", number=incident.number)
        return incident

    async def is_bridge_channel(self, channel: str) -> bool:
        """Whether `channel` is an incident's bridge channel (remembered once seen: a bridge
        channel stays one)."""
        if channel in self._bridge_channels:
            return True
        async with self.db.sessions() as session:
            found = await incident_store.get_by_channel(session=session, channel_id=channel)
        if found is not None:
            self._bridge_channels.add(channel)
        return found is not None

    @staticmethod
    def _not_found(number: int | None, incident_id: int | None, subcommand: str) -> CommandRefused:
        if number is None and incident_id is None:
            return NotInBridgeChannel(subcommand)
        return IncidentNotFound(number)

    async def require(
        self, session: DbSession, *, incident: Incident, user: str, action: str
    ) -> None:
        """A second action on an incident already located (the update form's severity)."""
        await self.access.check(session, incident=incident, user=user, action=action)

    async def may(self, session: DbSession, *, incident: Incident, user: str, action: str) -> bool:
        """Whether `user` may also `action` on an incident already located (what a link
        may change on the way)."""
        try:
            await self.access.check(session, incident=incident, user=user, action=action)
        except (Hidden, PermissionDenied):
            return False
        return True

    async def invite(self, session: DbSession, *, incident: Incident, users: list[str]) -> None:
        """Invite people to the bridge channel; they are members from now on."""
        now = self.clock.now()
        outbox.enqueue(session, Invite(users=users), now=now, incident_id=incident.id)
        await members.add(session=session, incident_id=incident.id, users=users, at=now)

    # -- recording a change -----------------------------------------------------------------------
    async def record(
        self,
        session: DbSession,
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
            session=session,
            incident=incident,
            at=at or now,
            recorded_at=now,
            actor=actor,
            kind=kind,
            text=text,
            data=data or {},
            source_key=source_key,
        )
        caused = consequences.causes(kind, data)
        # a change the card does not show still draws it when its last redraw was parked: the
        # card is brought up to date by the next change, whatever it is
        if consequences.STATUS_CARD in caused or incident.status_card_parked:
            _draw_status_card(session, incident, now)
        if consequences.TOPIC in caused:
            outbox.enqueue(session, Topic(), now=now, incident_id=incident.id)
        if stakeholders.announces(self.settings, kind, data):
            await stakeholders.add_announcement(
                session, settings=self.settings, incident=incident, now=now
            )
        if announce:
            outbox.enqueue(
                session,
                Post(target="bridge", text=self.told(entry), fold=True),
                now=now,
                incident_id=incident.id,
            )
        await self._changed(session, incident, kind)
        return entry

    def told(self, entry: TimelineEntry) -> str:
        """A timeline entry as the bridge channel is told it."""
        return self.renderer.slack("slack/timeline_entry.md.j2", entry=entry)


def _draw_status_card(
    session: DbSession, incident: Incident, now: datetime, *, pin: bool = False
) -> None:
    """The incident's status card, drawn from current state when delivered (posted and pinned
    the first time, updated in place after)."""
    if incident.status_card_parked:
        incident.status_card_parked = False
    outbox.add_card(
        session=session,
        now=now,
        incident_id=incident.id,
        card="status",
        owner=incident.id,
        target="bridge",
        pin=pin,
    )
