"""The evidence register: items collected for an incident, numbered, with who holds each.

Every change is a timeline entry (hash-chained, on the audit trail) carrying the item's full new
state, so `services/audit_evidence.py` can replay the register and find a row changed behind the
bot's back. A check against a different hash is recorded as failed and said loudly in the bridge.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from bridgekeeper.domain import commands as c
from bridgekeeper.domain import evidence as ev
from bridgekeeper.domain.effects import Post
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services.directory import named_person
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import evidence as evidence_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import EvidenceItem, Incident

OpenView = Callable[[str, dict[str, Any]], Awaitable[str]]  # the gateway's: trigger id, view


def item_data(item: EvidenceItem) -> dict[str, Any]:
    """What an `evidence_*` entry records of the item: all of it, as it stands after."""
    return {
        "number": item.number,
        "description": item.description,
        "sha256": item.sha256,
        "location": item.location,
        "file_name": item.file_name,
        "file_size": item.file_size,
        "collected_by": item.collected_by,
        "collected_at": item.collected_at.isoformat(),
        "custodian": item.custodian,
    }


class Evidence:
    """Command handlers of `/incident evidence ...`."""

    def __init__(self, incidents: IncidentService, *, open_view: OpenView) -> None:
        self.incidents = incidents
        self.open_view = open_view
        self.db = incidents.db
        self.clock = incidents.clock

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.AddEvidence, self.add)
        runner.on(c.TransferEvidence, self.transfer)
        runner.on(c.VerifyEvidence, self.verify)
        runner.on(c.ListEvidence, self.list_items)
        runner.on(c.EvidenceForm, self.open_form)

    async def _locate(
        self, session: DbSession, incident: int | None, inv: Invocation, action: str
    ) -> Incident:
        return await self.incidents.locate(
            session,
            user=inv.user,
            action=action,
            number=incident,
            channel=inv.channel,
            subcommand="evidence",
            open_only=action != "read",
            by_number_anywhere=inv.from_card,
        )

    async def add(self, command: c.AddEvidence, inv: Invocation) -> Reply:
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv, "note")
            item = await self.create(
                session,
                incident=incident,
                user=inv.user,
                description=command.description,
                sha256=command.sha256,
                location=command.location,
                file_name=command.file_name,
                file_size=command.file_size,
                unhashed=command.unhashed,
            )
        return Reply("slack/evidence_added.md.j2", {"item": item, "unhashed": command.unhashed})

    async def open_form(self, command: c.EvidenceForm, inv: Invocation) -> None:
        """The form of `evidence add`; its submission is the same command."""
        async with self.db.sessions() as session:
            incident = await self._locate(session, command.incident, inv, "note")
        metadata = json.dumps({"number": command.incident, "channel": inv.channel})
        view = json.loads(
            self.incidents.renderer.text(
                "modals/add_evidence.json.j2", incident=incident, metadata=metadata
            )
        )
        await self.open_view(str(inv.trigger_id), view)

    async def create(
        self,
        session: DbSession,
        *,
        incident: Incident,
        user: str,
        description: str,
        sha256: str | None = None,
        location: str | None = None,
        file_name: str | None = None,
        file_size: int | None = None,
        unhashed: str | None = None,
    ) -> EvidenceItem:
        """Number and store a new item, collected now by `user`, who holds it."""
        last = await evidence_store.last_number(session=session, incident_id=incident.id)
        item = EvidenceItem(
            incident_id=incident.id,
            number=last + 1,
            description=description,
            sha256=sha256,
            location=location,
            file_name=file_name,
            file_size=file_size,
            collected_by=user,
            collected_at=self.clock.now(),
            custodian=user,
        )
        session.add(item)
        await self.incidents.record(
            session,
            incident=incident,
            actor=user,
            kind=ev.ADDED,
            text=description,
            data={**item_data(item), "unhashed": unhashed},
            at=item.collected_at,
        )
        return item

    async def _item(self, session: DbSession, incident: Incident, number: int) -> EvidenceItem:
        item = await evidence_store.get(session=session, incident_id=incident.id, number=number)
        if item is None:
            raise CommandRefused("refused/no_such_evidence.md.j2", number=number)
        return item

    async def transfer(self, command: c.TransferEvidence, inv: Invocation) -> Reply:
        to = await self._resolve(command.to)
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv, "note")
            item = await self._item(session, incident, command.number)
            previous, item.custodian = item.custodian, to
            await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind=ev.TRANSFERRED,
                text=command.reason,
                data={**item_data(item), "from": previous},
            )
        return Reply("slack/evidence_transferred.md.j2", {"item": item, "previous": previous})

    async def _resolve(self, ref: c.UserRef) -> str:
        user = await named_person(self.incidents.directory, ref)
        if user is None:
            raise CommandRefused(
                "refused/unknown_user.md.j2", user=ref.name or ref.id, role="evidence"
            )
        return user

    async def verify(self, command: c.VerifyEvidence, inv: Invocation) -> Reply:
        now = self.clock.now()
        async with self.db.transaction() as session:
            incident = await self._locate(session, command.incident, inv, "note")
            item = await self._item(session, incident, command.number)
            matched = item.sha256 == command.sha256 if item.sha256 else None
            if matched is None:  # the first hash known of an item is recorded
                item.sha256 = command.sha256
            data = {**item_data(item), "checked": command.sha256, "matched": matched}
            entry = await self.incidents.record(
                session,
                incident=incident,
                actor=inv.user,
                kind=ev.VERIFIED,
                data=data,
                at=now,
                announce=matched is not False,
            )
            if matched is False:
                alarm = self.incidents.renderer.slack("slack/evidence_mismatch.md.j2", entry=entry)
                outbox.enqueue(
                    session, Post(target="bridge", text=alarm), now=now, incident_id=incident.id
                )
        return Reply(
            "slack/evidence_verified.md.j2",
            {"item": item, "matched": matched, "checked": command.sha256},
        )

    async def list_items(self, command: c.ListEvidence, inv: Invocation) -> Reply:
        async with self.db.sessions() as session:
            incident = await self._locate(session, command.incident, inv, "read")
            items = await evidence_store.of_incident(session=session, incident_id=incident.id)
        return Reply("slack/evidence.md.j2", {"incident": incident, "items": items})


async def evidence_facts(session: DbSession, incident_id: int) -> list[ev.EvidenceFacts]:
    """The register with each item's chain of custody, from its timeline entries, for the report."""
    entries = await incident_store.entries_of_kinds(
        session=session, incident_id=incident_id, kinds=ev.KINDS
    )
    history: dict[int, list[ev.CustodyStep]] = {}
    for entry in entries:
        data = entry.data or {}
        step = ev.custody(entry.kind, data, at=entry.at, actor=entry.actor, text=entry.text)
        history.setdefault(data.get("number", 0), []).append(step)
    items = await evidence_store.of_incident(session=session, incident_id=incident_id)
    return [_facts(item, history.get(item.number, [])) for item in items]


def _facts(item: EvidenceItem, history: list[ev.CustodyStep]) -> ev.EvidenceFacts:
    return ev.EvidenceFacts(
        number=item.number,
        description=item.description,
        collected_by=item.collected_by,
        collected_at=item.collected_at,
        custodian=item.custodian,
        sha256=item.sha256,
        location=item.location,
        file_name=item.file_name,
        file_size=item.file_size,
        history=tuple(history),
    )
