"""Incident use cases: each applies one change in a transaction with the effects it implies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain.incidents import Severity, Stage, Status
from bridgekeeper.effects import outbox
from bridgekeeper.rendering import Renderer
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Incident


@dataclass(frozen=True)
class Declared:
    number: int
    incident_id: int
    title: str


class IncidentService:
    def __init__(
        self, *, db: Database, clock: Clock, settings: Settings, renderer: Renderer
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.renderer = renderer

    async def declare(
        self,
        *,
        user: str,
        title: str,
        severity: Severity | None = None,
        private: bool = False,
        detected_at: datetime | None = None,
    ) -> Declared:
        async with self.db.transaction() as session:
            incident = await self.declare_in(
                session=session,
                user=user,
                title=title,
                severity=severity,
                private=private,
                detected_at=detected_at,
            )
        return Declared(number=incident.number, incident_id=incident.id, title=title)

    async def declare_in(
        self,
        *,
        session: AsyncSession,
        user: str,
        title: str,
        severity: Severity | None = None,
        private: bool = False,
        detected_at: datetime | None = None,
        invite: bool = True,
    ) -> Incident:
        """Declare inside the caller's transaction (alert triage attaches alerts in the same one).

        `invite=False` when the declarer is bridgekeeper itself rather than a Slack user.
        """
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
        await incident_store.append(
            session=session,
            incident=incident,
            at=now,
            recorded_at=now,
            actor=user,
            kind="declared",
            data={"title": title, "severity": severity.value, "private": private},
        )
        self._announce_new(session=session, incident=incident, invitees=[user] if invite else [])
        return incident

    def _announce_new(
        self, *, session: AsyncSession, incident: Incident, invitees: list[str]
    ) -> None:
        now = self.clock.now()
        for kind, payload in (
            ("create_channel", {}),
            ("invite", {"users": invitees}),
        ):
            outbox.add(
                session=session, now=now, kind=kind, incident_id=incident.id, payload=payload
            )
        outbox.add_card(
            session=session,
            now=now,
            incident_id=incident.id,
            card="status",
            owner=incident.id,
            target="bridge",
            pin=True,
        )
        outbox.add(session=session, now=now, kind="topic", incident_id=incident.id)
