"""The one access check: every command, button, modal and event that reads or changes an
incident goes through `Access.check` (IncidentService.locate calls it).

Slack is asked who manages incidents and who is in a bridge channel only in `prepare`, before
the caller's transaction (never while a database lock is held); `check` reads the database and
what `prepare` learnt. A path that skips `prepare` fails closed: a member Slack alone knows
about, or a manager, is refused rather than let in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain.access import Asker, Request, Verdict, may, verdict, who_may
from bridgekeeper.errors import PermissionDenied, SlackError
from bridgekeeper.services.directory import Directory
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import members
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Incident

log = logging.getLogger(__name__)
MANAGERS_TTL = 60.0  # seconds a fetched list of incident managers is trusted
CHANNEL_TTL = 30.0  # seconds a fetched list of a bridge channel's members is trusted


class Hidden(Exception):
    """The incident does not exist for this user; the caller answers as for a missing one."""


class Access:
    def __init__(
        self, *, db: Database, settings: Settings, directory: Directory, clock: Clock
    ) -> None:
        self.db = db
        self.settings = settings
        self.directory = directory
        self.clock = clock
        self._managers: tuple[float, frozenset[str]] = (0.0, frozenset())
        self._channels: dict[str, tuple[float, frozenset[str]]] = {}
        self._left_at: dict[str, float] = {}  # channel: when someone last left it

    # -- before the transaction: learn from Slack what the check will need ---------------------
    async def prepare(
        self,
        *,
        user: str,
        number: int | None = None,
        incident_id: int | None = None,
        channel: str = "",
    ) -> None:
        await self._refresh_managers()
        async with self.db.sessions() as session:
            incident = await incident_store.find(
                session=session, number=number, incident_id=incident_id, channel_id=channel
            )
            if incident is None or not incident.private or not incident.channel_id:
                return
            if await members.is_member(session=session, incident_id=incident.id, user=user):
                return
        asked_at = time.monotonic()
        found = user in await self._channel_members(incident.channel_id)
        if found and self._left_at.get(incident.channel_id, 0.0) < asked_at:
            await self.joined(channel=incident.channel_id, user=user)  # no leave since asking

    async def _refresh_managers(self) -> None:
        group = self.settings.process.incident_managers_group
        if not group or time.monotonic() - self._managers[0] < MANAGERS_TTL:
            return
        try:
            self._managers = (
                time.monotonic(),
                frozenset(await self.directory.usergroup_members(group)),
            )
        except SlackError as exc:
            self._managers = (0.0, frozenset())  # fail closed: nobody is a manager meanwhile
            log.warning("could not read the incident managers group: %s", exc.error)

    async def _channel_members(self, channel: str) -> frozenset[str]:
        fetched_at, known = self._channels.get(channel, (0.0, frozenset()))
        if time.monotonic() - fetched_at < CHANNEL_TTL:
            return known
        try:
            known = frozenset(await self.directory.channel_members(channel))
        except SlackError as exc:
            log.warning("could not read a bridge channel's members: %s", exc.error)
            return frozenset()
        self._channels[channel] = (time.monotonic(), known)
        return known

    # -- the check ------------------------------------------------------------------------------
    async def check(
        self,
        session: AsyncSession,
        *,
        incident: Incident,
        user: str,
        action: str,
        addressed_from_outside: bool = False,
        claims_commander: bool = False,
    ) -> None:
        """Raise Hidden or PermissionDenied unless `user` may `action` on `incident`."""
        allowed = self.settings.process.permissions.get(action, ())
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        asker = await self._asker(session, incident, user, roles)
        request = Request(
            action=action,
            private=incident.private,
            addressed_from_outside=addressed_from_outside,
            claims_vacant_command=claims_commander and "commander" not in roles and asker.member,
        )
        found = verdict(request, asker, allowed)
        if found is Verdict.HIDDEN:
            raise Hidden()
        if found is Verdict.DENIED:
            raise PermissionDenied(action, who_may(allowed))

    async def _asker(
        self, session: AsyncSession, incident: Incident, user: str, roles: dict[str, str]
    ) -> Asker:
        held = frozenset(role for role, holder in roles.items() if holder == user)
        manager = self.is_manager(user)
        member = manager or not incident.private  # a role holder who left is out too
        if not member:
            member = await members.is_member(session=session, incident_id=incident.id, user=user)
        return Asker(member=member, manager=manager, roles=held)

    async def may_without_incident(self, *, user: str, action: str) -> bool:
        """Whether `user` may `action` where no incident is involved (on-call overrides): only
        `managers` and `anyone` in [permissions] can apply, roles being an incident's."""
        await self._refresh_managers()
        allowed = self.settings.process.permissions.get(action, ())
        return may(Asker(member=True, manager=self.is_manager(user), roles=frozenset()), allowed)

    def is_manager(self, user: str) -> bool:
        return user in self._managers[1]

    async def visible(
        self, session: AsyncSession, *, user: str, incidents: Iterable[Incident]
    ) -> list[Incident]:
        """The incidents `user` may know of: public ones, and private ones they are in."""
        chosen = list(incidents)
        if not any(i.private for i in chosen):
            return chosen
        mine = await self.visible_private(session, user=user)
        return [i for i in chosen if not i.private or mine is None or i.id in mine]

    async def visible_private(self, session: AsyncSession, *, user: str) -> frozenset[int] | None:
        """The ids of the private incidents `user` may know of; None: every one (a manager).
        For queries that filter and count in the database (the console's list)."""
        if self.is_manager(user):
            return None
        return frozenset(await members.incidents_of(session=session, user=user))

    # -- keeping membership current ----------------------------------------------------------
    async def joined(self, *, channel: str, user: str) -> None:
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_channel(session=session, channel_id=channel)
            if incident is not None:
                await members.add(
                    session=session, incident_id=incident.id, users=[user], at=self.clock.now()
                )

    async def left(self, *, channel: str, user: str) -> None:
        self._channels.pop(channel, None)
        self._left_at[channel] = time.monotonic()
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_channel(session=session, channel_id=channel)
            if incident is not None:
                await members.remove(session=session, incident_id=incident.id, user=user)
