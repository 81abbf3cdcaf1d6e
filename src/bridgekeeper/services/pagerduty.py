"""A page's events in PagerDuty, over its Events API v2
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/): the `pagerduty_event`
effect, in a lane of its own per incident so Slack never waits behind PagerDuty.

Every event of a page carries its dedup key: PagerDuty folds a repeated trigger into the alert
already open under that key, and acknowledges or resolves that alert, so a retried delivery (an
answer lost, a 429 or a 5xx, retried with backoff by the outbox) never pages twice. The routing
key is read from the settings at delivery, never stored with the effect or logged. A private
incident's title and the page's message stay in Slack.
"""

from __future__ import annotations

from typing import Any

from bridgekeeper.config import Settings
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.rendering import Renderer
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import paging as page_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect, Incident
from bridgekeeper.store.paging import Page
from bridgekeeper.trackers import TrackerError
from bridgekeeper.trackers.connect import Connection
from bridgekeeper.trackers.http import call

KIND = "pagerduty"
SUMMARY_MAX = 1024
SEVERITIES = {
    Severity.SEV1: "critical",
    Severity.SEV2: "error",
    Severity.SEV3: "warning",
    Severity.SEV4: "info",
}


class PagerDuty:
    def __init__(
        self, *, db: Database, settings: Settings, renderer: Renderer, http: Connection
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.http = http

    async def deliver(self, effect: Effect) -> None:
        async with self.db.sessions() as session:
            row = await page_store.get(session, int(effect.payload["page"]))
            if row is None:
                return
            incident = await incident_store.get_by_id(session=session, incident_id=row.incident_id)
        key = self.settings.oncall.pagerduty_keys.get(row.team or "")
        if key is None:
            raise TrackerError(KIND, f"team {row.team} has no pagerduty_routing_key")
        body = self.event(str(effect.payload["action"]), key, row, incident)
        await call(
            self.http.session(),
            "POST",
            self.settings.pagerduty_events_url,
            kind=KIND,
            headers={},
            json=body,
        )

    def event(self, action: str, key: str, row: Page, incident: Incident) -> dict[str, Any]:
        event: dict[str, Any] = {
            "routing_key": key,
            "event_action": action,
            "dedup_key": row.dedup_key,
        }
        if action != "trigger":
            return event
        summary = self.renderer.text("pagerduty/summary.txt.j2", incident=incident, page=row)
        event["payload"] = {
            "summary": " ".join(summary.split())[:SUMMARY_MAX],
            "source": "bridgekeeper",
            "severity": SEVERITIES[Severity(incident.severity)],
            "custom_details": {
                "incident": incident.number,
                "paged_by": row.created_by,
                "message": "" if incident.private else row.message or "",
            },
        }
        if incident.channel_id:
            event["links"] = [
                {
                    "href": _channel_url(incident.channel_id),
                    "text": f"Incident {incident.number} channel in Slack",
                }
            ]
        return event


def _channel_url(channel_id: str) -> str:
    return f"https://slack.com/app_redirect?channel={channel_id}"
