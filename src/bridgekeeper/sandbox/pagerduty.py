"""PagerDuty's Events API v2, as its documentation describes it: a real HTTP server with real
state (the events accepted, the alerts they open, folded by dedup key) and injectable faults.

- `POST /v2/enqueue` with a JSON event: `routing_key` (the integration key, 32 characters),
  `event_action` trigger, acknowledge or resolve, `dedup_key` (at most 255 characters; required
  to acknowledge or resolve; a trigger without one gets a new key), and for a trigger `payload`
  with `summary` (at most 1,024 characters), `source`, `severity` (critical, error, warning or
  info) and optional `timestamp`, `component`, `group`, `class`, `custom_details`; optional
  `links` [{href, text}], `images`, `client`, `client_url`.
  https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
  https://developer.pagerduty.com/docs/events-api-v2/acknowledge-events/
  https://developer.pagerduty.com/docs/events-api-v2/resolve-events/
- 202 `{"status": "success", "message": "Event processed", "dedup_key": ...}`; 400
  `{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`; 429
  when throttled; 5xx: retry later.
  https://developer.pagerduty.com/docs/events-api-v2/overview/#response-codes--retry-logic
- Deduplication: a trigger whose dedup key names an alert still open (triggered or
  acknowledged) adds nothing new; acknowledge and resolve change that alert; events for a key
  with no open alert are accepted and dropped.

Faults: `fail(status, times)` answers the next events with that status (500, 502, 429)
without processing them; `lose_answers(times)` processes the next events and answers 502, as a
proxy timing out would.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridgekeeper.sandbox.loopback import serve
from bridgekeeper.sandbox.trackers.base import Faults

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
KEY_LENGTH = 32
SUMMARY_MAX = 1024
DEDUP_MAX = 255
OPEN = ("triggered", "acknowledged")
JsonDict = dict[str, Any]


@dataclass
class Alert:
    dedup_key: str
    routing_key: str
    summary: str
    severity: str
    status: str = "triggered"
    events: list[str] = field(default_factory=list)  # the actions applied, in order


@dataclass
class PagerDutyEmulator:
    routing_keys: set[str] = field(default_factory=set)  # keys of integrations that exist
    events: list[JsonDict] = field(default_factory=list)  # every event accepted, as sent
    alerts: list[Alert] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    url: str = ""
    _runner: web.AppRunner | None = None

    @property
    def events_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/v2/enqueue", self._enqueue)])
        self._runner, self.url = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, status: int, times: int = 1) -> None:
        self.faults.fail_status, self.faults.fail_times = status, times

    def lose_answers(self, times: int = 1) -> None:
        self.faults.lost_answers = times

    def alert(self, dedup_key: str) -> Alert | None:
        return next((a for a in reversed(self.alerts) if a.dedup_key == dedup_key), None)

    # -- the endpoint -------------------------------------------------------------------------
    async def _enqueue(self, request: web.Request) -> web.Response:
        status = self.faults.take()
        if status == 429:
            return web.json_response(
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
                status=429,
            )
        if status is not None:
            return web.json_response(
                {"status": "error", "message": "injected fault"}, status=status
            )
        try:
            event = json.loads(await request.read())
        except ValueError:
            return _invalid(["Event object must be valid JSON"])
        errors = problems(event, self.routing_keys)
        if errors:
            return _invalid(errors)
        key = self._apply(event)
        if self.faults.lose():
            return web.json_response({"status": "error", "message": "Bad Gateway"}, status=502)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
        )

    def _apply(self, event: JsonDict) -> str:
        self.events.append(event)
        action = event["event_action"]
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        alert = self.alert(key)
        current = alert if alert is not None and alert.status in OPEN else None
        if action == "trigger" and current is None:
            payload = event["payload"]
            current = Alert(key, event["routing_key"], payload["summary"], payload["severity"])
            self.alerts.append(current)
        if current is not None:
            current.events.append(action)
            if action != "trigger":
                current.status = "acknowledged" if action == "acknowledge" else "resolved"
        return key


def problems(event: object, routing_keys: set[str]) -> list[str]:
    """What PagerDuty would say is wrong with the event; empty: it is valid."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != KEY_LENGTH:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif routing_keys and key not in routing_keys:
        errors.append("'routing_key' does not name an integration")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > DEDUP_MAX):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve events")
    if action == "trigger":
        errors += _payload_problems(event.get("payload"))
    return errors


def _payload_problems(payload: object) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > SUMMARY_MAX:
        errors.append("'payload.summary' is too long (maximum is 1024 characters)")
    if not isinstance(payload.get("source"), str) or not payload.get("source"):
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
        )
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict | str):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _invalid(errors: list[str]) -> web.Response:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    return web.json_response(body, status=400)
