"""PagerDuty's REST API, the part bridgekeeper reads: `GET /oncalls`, as its documentation
describes it, on a real port with real state (users with e-mails, on-call entries of schedules
and escalation policies) and the faults of oncall_tools.py.

https://developer.pagerduty.com/api-reference/3a6b910f11050-list-all-of-the-on-calls
- Headers: `Authorization: Token token=<API key>`; anything else is 401 with PagerDuty's error
  object `{"error": {"message": ..., "code": ...}}`.
- Query: `schedule_ids[]`, `escalation_policy_ids[]` (repeatable filters), `since`, `until`
  (ISO 8601; entries overlapping the span), `include[]=users` (full user objects with `email`;
  otherwise user references), `limit` (default 25, at most 100), `offset`.
- Answer: `{"oncalls": [{"user", "schedule", "escalation_policy", "escalation_level", "start",
  "end"}], "limit", "offset", "more", "total": null}`; a permanent on-call has null start/end
  and a null schedule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bridgekeeper.sandbox.oncall_tools import Duty, Person, ToolEmulator, overlaps

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
POLICY = "PPOLICY"  # the escalation policy of duties added without one
JsonDict = dict[str, Any]


class PagerDutyRestEmulator(ToolEmulator):
    def routes(self) -> list[web.RouteDef]:
        return [web.get("/oncalls", self._oncalls)]

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Token token={self.token}"

    def unauthorized(self) -> web.Response:
        return web.json_response({"error": {"message": "Unauthorized", "code": 2006}}, status=401)

    async def _oncalls(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            since = _moment(query.get("since"))
            until = _moment(query.get("until"))
            limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
            offset = int(query.get("offset", 0))
        except ValueError:
            return _invalid("Invalid 'since', 'until', 'limit' or 'offset' parameter")
        if since and until and until <= since:
            return _invalid("'until' must be after 'since'")
        schedules = set(query.getall("schedule_ids[]", []))
        policies = set(query.getall("escalation_policy_ids[]", []))
        found = [
            d
            for d in self.duties
            if (not schedules or d.schedule in schedules)
            and (not policies or d.escalation_policy in policies)
            and (since is None or until is None or overlaps(d, since, until))
        ]
        full = "users" in query.getall("include[]", [])
        page = found[offset : offset + limit]
        return web.json_response(
            {
                "oncalls": [self._entry(d, full) for d in page],
                "limit": limit,
                "offset": offset,
                "more": offset + limit < len(found),
                "total": None,
            }
        )

    def _entry(self, duty: Duty, full: bool) -> JsonDict:
        person = self.people[duty.person]
        return {
            "user": _user(person) if full else _reference(person.id, "user", person.name),
            "schedule": _reference(duty.schedule, "schedule") if duty.schedule else None,
            "escalation_policy": _reference(duty.escalation_policy or POLICY, "escalation_policy"),
            "escalation_level": duty.level,
            "start": duty.start.isoformat().replace("+00:00", "Z") if duty.start else None,
            "end": duty.end.isoformat().replace("+00:00", "Z") if duty.end else None,
        }


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def _user(person: Person) -> JsonDict:
    return {
        "id": person.id,
        "type": "user",
        "summary": person.name,
        "name": person.name,
        "email": person.email,
        "time_zone": "Etc/UTC",
        "html_url": f"https://example.pagerduty.com/users/{person.id}",
    }


def _reference(item_id: str, kind: str, summary: str | None = None) -> JsonDict:
    return {"id": item_id, "type": f"{kind}_reference", "summary": summary or item_id}


def _invalid(message: str) -> web.Response:
    body = {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": [message]}}
    return web.json_response(body, status=400)
