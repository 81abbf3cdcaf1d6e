"""Triage of one alert from its card: acknowledge, dismiss, declare an incident, link to one.

Each use case locks the alert row, so two people clicking at once (or one person twice) act
once: a second Declare finds the incident the first one made.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bridgekeeper.clock import Clock
from bridgekeeper.domain.incidents import Status
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services import digest as digests
from bridgekeeper.services.access import Hidden
from bridgekeeper.services.alert_cards import attach, mark_triaged, refresh_card
from bridgekeeper.services.alert_incidents import declare_from_alert
from bridgekeeper.services.incidents import Declared, IncidentService
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Alert, Incident

UNTRIAGED = ("new", "acknowledged")
LIST_MAX = 100  # alerts named in a digest's list


class Disposition(StrEnum):
    FALSE_POSITIVE = "false_positive"
    BENIGN = "benign"
    EXPECTED = "expected"
    DUPLICATE = "duplicate"
    OTHER = "other"


class AlertGone(LookupError):
    """The alert a button names does not exist (a card from another database, or forged)."""


@dataclass(frozen=True)
class OpenIncident:
    number: int
    title: str
    private: bool = False


@dataclass(frozen=True)
class DigestList:
    alerts: list[Alert]  # those that may be named, oldest first
    hidden: int  # part of a private incident: counted, never named
    more: int  # named ones left off the list


class TriageService:
    def __init__(self, *, db: Database, clock: Clock, incidents: IncidentService) -> None:
        self.db = db
        self.clock = clock
        self.incidents = incidents

    async def acknowledge(self, *, alert_id: int, user: str) -> None:
        """Who and when: the time to acknowledge is measured from the alert's first sighting."""
        now = self.clock.now()
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            alert = await self._alert(session, alert_id, user)
            if alert.triage != "new":
                return
            alert.triage = "acknowledged"
            alert.acknowledged_by = user
            alert.acknowledged_at = now
            await refresh_card(session=session, alert=alert, now=now, interval=None)

    async def dismiss(
        self, *, alert_id: int, user: str, disposition: Disposition, comment: str
    ) -> None:
        now = self.clock.now()
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            alert = _untriaged(await self._alert(session, alert_id, user))
            mark_triaged(alert, "dismissed", user, now)
            alert.disposition = disposition.value
            alert.triage_comment = comment
            await refresh_card(session=session, alert=alert, now=now, interval=None)

    async def get(self, alert_id: int, user: str) -> Alert:
        await self.incidents.access.prepare()
        async with self.db.sessions() as session:
            return await self._alert(session, alert_id, user, lock=False)

    async def _alert(
        self, session: DbSession, alert_id: int, user: str, *, lock: bool = True
    ) -> Alert:
        """The alert a button names; one that is part of a private incident the user is not in
        is answered like one that does not exist (its card, if any, is only in the triage
        channel because it came before the incident)."""
        alert = await alert_store.get(session=session, alert_id=alert_id, lock=lock)
        if alert is None:
            raise AlertGone(alert_id)
        incident = await session.get(Incident, alert.incident_id) if alert.incident_id else None
        if incident is not None and incident.private:
            try:
                await self.incidents.access.check(
                    session, incident=incident, user=user, action="read"
                )
            except Hidden:
                raise AlertGone(alert_id) from None
        return alert

    async def declare(self, *, alert_id: int, user: str) -> Declared:
        """An incident with the alert attached, detected when the alert was first seen.

        An alert already in an incident gives that incident: a second click declares nothing.
        """
        now = self.clock.now()
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            alert = await self._alert(session, alert_id, user)
            if alert.incident_id is not None:
                return await self._declared_before(session, alert.incident_id, user)
            _untriaged(alert)  # dismissed, from a card shown before
            private = self._private_source(alert.source)
            declared = await declare_from_alert(
                self.incidents, session, alert=alert, actor=user, private=private, now=now
            )
            await refresh_card(session=session, alert=alert, now=now, interval=None)
            return declared

    async def _declared_before(self, session: DbSession, incident_id: int, user: str) -> Declared:
        """A second click on Declare (or on a card whose alert was linked meanwhile): the
        clicker joins the public incident's bridge channel; of a private one, nothing is
        said but that it is private."""
        incident = await incident_store.get_by_id(
            session=session, incident_id=incident_id, lock=True
        )
        if incident.private:
            return Declared(0, incident.id, "", earlier="private")
        if incident.status != Status.OPEN:
            return Declared(incident.number, incident.id, incident.title, earlier="closed")
        await self.incidents.invite(session, incident=incident, users=[user])
        return Declared(incident.number, incident.id, incident.title, earlier="open")

    def _private_source(self, source: str) -> bool:
        """Alerts from a source the auto-declare rules keep private (security tools, say)
        make private incidents when declared by hand too."""
        return any(
            r.private and source in r.sources for r in self.incidents.settings.alerts.auto_declare
        )

    async def link(self, *, alert_id: int, user: str, number: int) -> None:
        """Attach the alert to an open incident (it keeps the first one it joined)."""
        now = self.clock.now()
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            alert = _untriaged(await self._alert(session, alert_id, user))
            incident = await self.incidents.locate(
                session, user=user, action="link", number=number, by_number_anywhere=True
            )
            await attach(self.incidents, session, alert=alert, incident=incident, actor=user)
            mark_triaged(alert, "linked", user, now)
            await refresh_card(session=session, alert=alert, now=now, interval=None)

    async def digest_list(self, *, digest: int) -> DigestList:
        """A storm digest's alerts for the person who asked: none of a private incident is
        named (the digest is in a public channel), whoever asks, so the answer does not
        depend on who asks."""
        async with self.db.sessions() as session:
            named, hidden = await digests.listing(session, digest=digest)
        return DigestList(named[:LIST_MAX], hidden, max(0, len(named) - LIST_MAX))

    async def open_incidents(self, user: str) -> list[OpenIncident]:
        """The Link form's choices: the open incidents `user` may know of (a private one
        without its title: the form is opened from a public triage channel)."""
        await self.incidents.access.prepare()
        async with self.db.sessions() as session:
            incidents: list[Incident] = await self.incidents.access.visible(
                session, user=user, incidents=await incident_store.list_open(session=session)
            )
        return [OpenIncident(i.number, i.title, i.private) for i in reversed(incidents)]


def _untriaged(alert: Alert) -> Alert:
    """The alert, if nobody has triaged it yet: a form or card opened before someone else
    dismissed it, declared it or linked it (or it was grouped) changes nothing, and says so."""
    if alert.triage in UNTRIAGED and alert.incident_id is None:
        return alert
    raise CommandRefused(
        "refused/alert_triaged.md.j2",
        triage=alert.triage,
        by=alert.triaged_by,
        number=alert.incident_number,
    )
