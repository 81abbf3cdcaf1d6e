"""Cards as Slack shows them: a card's template rendered from the incident's or the alert's
current state, at delivery (effects/deliver.py), as Slack markup."""

from __future__ import annotations

from datetime import datetime

from bridgekeeper.config import Settings
from bridgekeeper.rendering import Renderer
from bridgekeeper.services import cards, digest
from bridgekeeper.services.alert_cards import GROUP_CARD
from bridgekeeper.services.digest import DIGEST_CARD
from bridgekeeper.services.schedules import Schedules
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident


async def render_card(
    *,
    session: DbSession,
    renderer: Renderer,
    settings: Settings,
    card: str,
    owner: int,
    now: datetime,
    schedules: Schedules,
) -> str:
    if card == "triage":
        # after in-flight repeats
        alert = await alert_store.get(session=session, alert_id=owner, lock=True)
        if alert is None:
            raise LookupError(f"alert {owner} is gone")
        incident = await session.get(Incident, alert.incident_id) if alert.incident_id else None
        private = incident is not None and incident.private  # the card is in a public channel
        oncall = await cards.responder(
            session, settings=settings, alert=alert, now=now, schedules=schedules
        )
        return renderer.slack(
            "slack/triage_card.md.j2", alert=alert, private_incident=private, oncall=oncall
        )
    if card == DIGEST_CARD:
        found = await digest.summary(session, digest=owner)
        return renderer.slack("slack/digest_card.md.j2", digest=found)
    if card == GROUP_CARD:
        return renderer.slack(
            "slack/alerts_card.md.j2", **await cards.group_context(session, owner)
        )
    incident = await incident_store.get_by_id(session=session, incident_id=owner)
    context = await cards.incident_context(session=session, settings=settings, incident=incident)
    return renderer.slack(f"slack/{card}_card.md.j2", **context)
