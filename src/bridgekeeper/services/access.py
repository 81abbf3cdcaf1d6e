"""The one access check: every command, button, modal and event that reads or changes an
incident goes through `Access.check` (IncidentService.locate calls it).

Slack is asked who manages incidents only in `prepare`, before the caller's transaction (never
while a database lock is held); `check` reads the database and what `prepare` learnt. Who is in
a private bridge channel is answered from stored membership alone, so a hidden incident and a
missing one take the same path and about the same time; Slack is asked about the channel in the
background (`channel_lookups.py`). A path that skips `prepare` fails closed: a manager is
refused rather than let in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain.access import Asker, Request, Verdict, may, verdict, who_may
from bridgekeeper.errors import PermissionDenied, SlackError
from bridgekeeper.services.channel_lookups import ChannelLookups
from bridgekeeper.services.directory import Directory
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import members
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Incident

log = logging.getLogger(__name__)
MANAGERS_TTL = 60.0  # seconds a fetched list of incident managers is trusted


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
        self.channels = ChannelLookups(directory=directory, found=self._found)

    # -- before the transaction: learn from Slack what the check will need ---------------------
    async def prepare(self) -> None:
        """Who the incident managers are, from Slack (cached), before a transaction is open.

        Slack is never asked about the incident itself on the way to the answer: `check` asks
        in the background about a private bridge channel the user is not known to be in, so
        that someone added in Slack whose member_joined_channel event was lost is let in
        shortly afterwards."""
        await self._refresh_managers()

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

    # -- the check ------------------------------------------------------------------------------
    async def check(
        self,
        session: DbSession,
        *,
        incident: Incident,
        user: str,
        action: str,
        addressed_from_outside: bool = False,
        claims_commander: bool = False,
        stored_member: bool | None = None,
    ) -> None:
        """Raise Hidden or PermissionDenied unless `user` may `action` on `incident`. Whether
        it is hidden depends on membership alone and is decided before the roles are read, so a
        hidden incident costs the database what a missing one does; the roles are read only
        for an action they decide. `stored_member`: whether the user's membership row exists,
        when the caller read it with the incident."""
        allowed = self.settings.process.permissions.get(action, ())
        manager = self.is_manager(user)
        member = manager or await self._in(session, incident, user, stored_member)
        request = Request(
            action=action, private=incident.private, addressed_from_outside=addressed_from_outside
        )
        asker = Asker(member=member, manager=manager, roles=frozenset())
        if incident.private and not member and incident.channel_id:
            self.channels.ask(channel=incident.channel_id, user=user)  # answered in the background
        without_roles = verdict(request, asker, allowed)
        if without_roles is Verdict.HIDDEN:
            raise Hidden()
        if without_roles is Verdict.ALLOWED:
            return  # a role only ever adds a right: the roles need not be read (a note's case)
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        held = frozenset(role for role, holder in roles.items() if holder == user)
        request = replace(
            request, claims_vacant_command=claims_commander and "commander" not in roles and member
        )
        if verdict(request, replace(asker, roles=held), allowed) is Verdict.DENIED:
            raise PermissionDenied(action, who_may(allowed))

    async def _in(
        self, session: DbSession, incident: Incident, user: str, stored: bool | None
    ) -> bool:
        """Whether `user` is in the incident: anyone for a public one, a stored member of a
        private one (a role holder who left is out too)."""
        if not incident.private:
            return True
        if stored is False:  # read with the incident: a hidden one costs what a missing one does
            return False
        # read again: on PostgreSQL a row read while waiting for the incident's lock may be stale
        return await members.is_member(session=session, incident_id=incident.id, user=user)

    async def may_without_incident(self, *, user: str, action: str) -> bool:
        """Whether `user` may `action` where no incident is involved (on-call overrides): only
        `managers` and `anyone` in [permissions] can apply, roles being an incident's."""
        await self._refresh_managers()
        allowed = self.settings.process.permissions.get(action, ())
        return may(Asker(member=True, manager=self.is_manager(user), roles=frozenset()), allowed)

    def is_manager(self, user: str) -> bool:
        return user in self._managers[1]

    async def visible(
        self, session: DbSession, *, user: str, incidents: Iterable[Incident]
    ) -> list[Incident]:
        """The incidents `user` may know of: public ones, and private ones they are in."""
        chosen = list(incidents)
        if not any(i.private for i in chosen):
            return chosen
        mine = await self.visible_private(session, user=user)
        return [i for i in chosen if not i.private or mine is None or i.id in mine]

    async def visible_private(self, session: DbSession, *, user: str) -> frozenset[int] | None:
        """The ids of the private incidents `user` may know of; None: every one (a manager).
        For queries that filter and count in the database (the console's list)."""
        if self.is_manager(user):
            return None
        return frozenset(await members.incidents_of(session=session, user=user))

    # -- keeping membership current ----------------------------------------------------------
    async def joined(self, *, channel: str, user: str) -> None:
        """Slack says `user` joined `channel`. Of a private incident's channel, Slack is asked
        first whether they are in it still: Slack delivers again an event whose delivery
        failed, so a join can come after the leave that followed it."""
        async with self.db.sessions() as session:
            incident = await incident_store.get_by_channel(session=session, channel_id=channel)
        if incident is not None and incident.private:
            await self.channels.confirm(channel=channel, user=user)
        elif incident is not None:
            await self._found(channel, {user})

    async def _found(self, channel: str, users: set[str]) -> None:
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_channel(session=session, channel_id=channel)
            if incident is not None:
                await members.add(
                    session=session, incident_id=incident.id, users=users, at=self.clock.now()
                )

    async def left(self, *, channel: str, user: str) -> None:
        self.channels.left(channel)
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_channel(session=session, channel_id=channel)
            if incident is not None:
                await members.remove(session=session, incident_id=incident.id, user=user)

    async def close(self) -> None:
        """Stop the membership look-ups still running (at shutdown)."""
        await self.channels.close()
