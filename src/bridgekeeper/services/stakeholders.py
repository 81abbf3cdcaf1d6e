"""What stakeholders see of an incident: its announcement in each stakeholder channel, and how
much a private incident discloses. No service imports here, so IncidentService can use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.config import Settings
from bridgekeeper.domain import consequences
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.store import messages as message_store
from bridgekeeper.store import outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident


def disclosure(settings: Settings, incident: Incident) -> dict[str, Any]:
    """What stakeholders may see: `name` (number or codename) and whether details are hidden."""
    redacted = bool(incident.private) and not settings.updates.private_details
    codename = settings.updates.private_codename
    name = f"Incident {incident.number}"
    if redacted and codename:
        name = codename.replace("{number}", str(incident.number))
    return {"name": name, "redacted": redacted}


def announces(settings: Settings, kind: str, data: dict[str, Any] | None) -> bool:
    """Whether a change shows on the stakeholder announcement."""
    if not settings.stakeholder_channel and not settings.updates.stakeholder_channels:
        return False
    return consequences.ANNOUNCEMENT in consequences.causes(kind, data)


async def add_announcement(
    session: DbSession, *, settings: Settings, incident: Incident, now: datetime
) -> None:
    """Post the incident's announcement in each stakeholder channel its severity goes to (the
    first time), and edit in place every one posted before, wherever its severity went since."""
    routed = settings.updates.channels_for(
        Severity(incident.severity), settings.stakeholder_channel
    )
    key = outbox.card_key("announcement", incident.id)
    posted = await message_store.posted_channels(session, key=key)
    for channel in dict.fromkeys([*posted, *routed]):
        outbox.add_card(
            session=session,
            now=now,
            incident_id=incident.id,
            card="announcement",
            owner=incident.id,
            target=channel,
            key=posted.get(channel, f"{key}@{channel}"),
        )
