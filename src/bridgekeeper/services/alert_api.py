"""The Opsgenie-compatible Alert API's work on stored alerts: create (through the intake, like
any webhook), close (resolve), acknowledge (the triage card says by whom) and add a note (to
the incident's timeline when the alert is part of one, else to the alert's card).

The API key is the sender's: it may act on the alerts the API created, not on other sources'.
"""

from __future__ import annotations

from bridgekeeper.clock import Clock
from bridgekeeper.domain.alerts import opsgenie
from bridgekeeper.domain.alerts.model import AlertStatus, PayloadError
from bridgekeeper.domain.text import is_digits
from bridgekeeper.services.alert_cards import refresh_card
from bridgekeeper.services.alert_rows import Outcome
from bridgekeeper.services.incidents import BOT_ACTOR, IncidentService
from bridgekeeper.services.intake import IntakeService
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Alert

WHO_MAX = 40  # the width of the stored acknowledger


class AlertApi:
    def __init__(
        self, *, db: Database, clock: Clock, intake: IntakeService, incidents: IncidentService
    ) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake
        self.incidents = incidents

    async def create(self, payload: object) -> Outcome:
        alerts = opsgenie.parse(payload, received_at=self.clock.now())
        [outcome] = await self.intake.receive(alerts)
        return outcome

    async def close(self, action: opsgenie.Action) -> bool:
        """False: no such alert."""
        async with self.db.sessions() as session:
            row = await self._find(session, action, lock=False)
        if row is None:
            return False
        if row.status == AlertStatus.FIRING.value:
            resolved = opsgenie.resolution(row.dedup_key, row.title, self.clock.now())
            await self.intake.receive([resolved])
        return True

    async def acknowledge(self, action: opsgenie.Action) -> bool:
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await self._find(session, action, lock=True)
            if row is None:
                return False
            if row.triage == "new":
                row.triage = "acknowledged"
                row.acknowledged_by = who(action)
                row.acknowledged_at = now
                await refresh_card(session=session, alert=row, now=now, interval=None)
        return True

    async def add_note(self, action: opsgenie.Action) -> bool:
        if not action.note:
            raise PayloadError("note is missing")
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await self._find(session, action, lock=True)
            if row is None:
                return False
            text = f"{action.note} ({who(action)}, on alert {row.title})"
            if row.incident_id is None:
                note = f"Note from {who(action)}: {action.note}"  # the newest first, on the card
                row.description = f"{note}\n{row.description}"
                await refresh_card(session=session, alert=row, now=now, interval=None)
                return True
            incident = await incident_store.get_by_id(
                session=session, incident_id=row.incident_id, lock=True
            )
            await self.incidents.record(
                session, incident=incident, actor=BOT_ACTOR, kind="note", text=text
            )
        return True

    async def _find(
        self, session: DbSession, action: opsgenie.Action, *, lock: bool
    ) -> Alert | None:
        if action.identifier_type == "alias":
            key = opsgenie.alias_key(action.identifier)
            row = await alert_store.get_firing(session=session, dedup_key=key, lock=lock)
            return row or await alert_store.latest_resolved(session=session, dedup_key=key)
        if not is_digits(action.identifier) or len(action.identifier) > 18:
            return None
        row = await alert_store.get(session=session, alert_id=int(action.identifier), lock=lock)
        return row if row is not None and row.source == opsgenie.SOURCE else None


def who(action: opsgenie.Action) -> str:
    return (action.user or action.source or "Alert API")[:WHO_MAX]
