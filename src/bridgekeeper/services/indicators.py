"""Indicators of compromise of an incident: recorded as notes, pins and alerts bring them,
listed, confirmed or dismissed by a responder, and exported as STIX 2.1 or CSV.

Finding them costs a note one regular-expression pass; only a text that holds some costs a
query or two more (the incident is locked by whoever records the text, so numbers do not race).
Decisions and exports are timeline entries, on the audit trail like every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bridgekeeper.domain import commands as c
from bridgekeeper.domain import indicator_export as export
from bridgekeeper.domain import indicators as ioc
from bridgekeeper.domain.effects import UploadFile
from bridgekeeper.errors import CommandRefused
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import indicators as indicator_store
from bridgekeeper.store import outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident, Indicator

EXPORTED = "indicators_exported"


async def record_found(
    session: DbSession,
    *,
    incident_id: int,
    found: Sequence[ioc.Found],
    source: dict[str, Any],
    at: datetime,
) -> None:
    """Store what was found in a text or an alert: new indicators numbered on, known ones with
    one more place they were seen. The caller holds the incident locked."""
    if not found:
        return
    rows = await indicator_store.with_values(
        session=session, incident_id=incident_id, values={item.value for item in found}
    )
    known = {(row.type, row.value): row for row in rows}
    for row in known.values():
        row.sources = ioc.source_list(row.sources, source)
    new = [item for item in found if (item.type, item.value) not in known]
    if not new:
        return
    last = await indicator_store.last_number(session=session, incident_id=incident_id)
    session.add_all(
        Indicator(
            incident_id=incident_id,
            number=last + n,
            type=item.type,
            value=item.value,
            status="seen",
            first_seen_at=at,
            sources=[source],
        )
        for n, item in enumerate(new, start=1)
    )


def seen_in(kind: str, *, by: str, at: datetime) -> dict[str, Any]:
    """Where a text was written: a note or pin by someone at a time."""
    return {"kind": kind, "by": by, "at": at.isoformat(timespec="seconds")}


async def confirmed(session: DbSession, incident_id: int) -> list[Indicator]:
    """Those a responder confirmed, by number (the report's appendix, the export)."""
    return await indicator_store.confirmed(session=session, incident_id=incident_id)


def appendix_row(row: Indicator) -> dict[str, Any]:
    """A confirmed indicator as the report's appendix shows it (and its JSON form holds it)."""
    return {
        "number": row.number,
        "type": row.type,
        "value": row.value,
        "first_seen": row.first_seen_at.isoformat(),
        "confirmed_by": row.decided_by,
        "confirmed_at": row.decided_at.isoformat() if row.decided_at else None,
        "reason": row.reason,
    }


def export_file(
    renderer: Renderer, incident: Incident, rows: Sequence[Indicator], fmt: str, at: datetime
) -> tuple[str, str]:
    """The file name and content of the confirmed indicators in `fmt` (stix or csv)."""
    items = [
        export.Shared(
            type=row.type,
            value=row.value,
            first_seen_at=row.first_seen_at,
            confirmed_at=row.decided_at or row.first_seen_at,
            where=renderer.text("iocs/where.txt.j2", sources=row.sources).strip(),
        )
        for row in rows
    ]
    name = f"incident-{incident.number}-indicators.{export.SUFFIXES[fmt]}"
    if fmt == "csv":
        return name, export.csv_text(items)
    team = renderer.text("iocs/stix_team.txt.j2").strip()
    report = export.SharedReport(
        key=f"{incident.number}/{incident.declared_at.isoformat()}",
        name=renderer.text("iocs/stix_report.txt.j2", incident=incident).strip(),
        opened_at=incident.declared_at,
    )
    return name, export.stix_bundle(items, team=team, report=report, at=at)


class Indicators:
    """Command handlers of `/incident iocs ...` and `/incident ioc ...`."""

    def __init__(self, incidents: IncidentService) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.ListIndicators, self.list_indicators)
        runner.on(c.DecideIndicator, self.decide)
        runner.on(c.ExportIndicators, self.export)

    async def _locate(
        self,
        session: DbSession,
        incident: int | None,
        inv: Invocation,
        action: str,
        subcommand: str,
    ) -> Incident:
        return await self.incidents.locate(
            session,
            user=inv.user,
            action=action,
            number=incident,
            channel=inv.channel,
            subcommand=subcommand,
            open_only=action != "read",
            by_number_anywhere=inv.from_card,
        )

    async def list_indicators(self, command: c.ListIndicators, inv: Invocation) -> Reply:
        async with self.db.sessions() as session:
            incident = await self._locate(session, command.incident, inv, "read", "iocs")
            rows = await indicator_store.of_incident(session=session, incident_id=incident.id)
        return Reply("slack/iocs.md.j2", {"incident": incident, "indicators": rows})

    async def decide(self, command: c.DecideIndicator, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv, "note", "ioc")
            row = await indicator_store.get(
                session=session, incident_id=incident.id, number=command.number
            )
            if row is None:
                raise CommandRefused("refused/no_such_indicator.md.j2", number=command.number)
            row.status, row.reason = command.status, command.reason or None
            row.decided_by, row.decided_at = inv.user, self.clock.now()
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                text=command.reason,
                kind=ioc.CONFIRMED if command.status == "confirmed" else ioc.DISMISSED,
                data={"number": row.number, "type": row.type, "value": row.value},
                at=row.decided_at,
            )
        return Reply("slack/ioc_decided.md.j2", {"indicator": row})

    async def export(self, command: c.ExportIndicators, inv: Invocation) -> Reply:
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv, "read", "iocs")
            rows = await confirmed(session, incident.id)
            if not rows:
                raise CommandRefused("refused/no_confirmed_indicators.md.j2")
            name, content = export_file(
                self.incidents.renderer, incident, rows, command.format, now
            )
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind=EXPORTED,
                announce=False,
                data={"format": command.format, "count": len(rows), "file": name},
                at=now,
            )
            comment = self.incidents.renderer.slack(
                "slack/iocs_file.md.j2", user=inv.user, count=len(rows), format=command.format
            )
            outbox.enqueue(
                session,
                UploadFile(
                    target="bridge", filename=name, title=name, content=content, comment=comment
                ),
                now=now,
                incident_id=incident.id,
            )
        return Reply("slack/iocs_exported.md.j2", {"count": len(rows), "file": name})
