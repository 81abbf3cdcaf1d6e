"""GoAlert's GraphQL API, the part bridgekeeper reads: a schedule's shifts, on a real port with
real state (users with e-mails, schedules' shifts) and the faults of oncall_tools.py.

- `POST /api/graphql` with `Authorization: Bearer <API key>` and a JSON body `{"query",
  "variables"}`; a wrong or missing key is 401 with `{"errors": [{"message": "unauthorized"}]}`.
- Understood: `schedule(id:) { shifts(start:, end:) { userID user { name email } start end
  truncated } }` (graphql2/schema.graphql: Schedule.shifts(start: ISOTimestamp!, end:
  ISOTimestamp!): [OnCallShift!]!), arguments as variables. Shifts overlapping the span are
  answered clipped to it, `truncated` when one goes on past its end; an unknown schedule is
  `{"data": {"schedule": null}}`. Any other query is a GraphQL error:
  `{"errors": [{"message": ...}]}` (status 200, as GraphQL servers answer).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from bridgekeeper.sandbox.oncall_tools import Duty, ToolEmulator, overlaps

SHAPE = re.compile(
    r"^query(\s*\([^)]*\))?\s*\{\s*schedule\s*\(\s*id:\s*\$id\s*\)\s*\{\s*shifts\s*\(\s*"
    r"start:\s*\$start\s*,\s*end:\s*\$end\s*\)\s*\{(?P<fields>[^{}]*(\{[^{}]*\}[^{}]*)?)\}"
    r"\s*\}\s*\}$"
)
JsonDict = dict[str, Any]


class GoAlertEmulator(ToolEmulator):
    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/graphql", self._graphql)]

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def unauthorized(self) -> web.Response:
        return web.json_response({"errors": [{"message": "unauthorized"}]}, status=401)

    async def _graphql(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            query, variables = str(body["query"]).strip(), dict(body.get("variables") or {})
        except (ValueError, KeyError, TypeError):
            return _error("invalid request body")
        if not SHAPE.match(query):
            return _error("unsupported query")
        try:
            start = datetime.fromisoformat(str(variables["start"]))
            end = datetime.fromisoformat(str(variables["end"]))
        except (KeyError, ValueError):
            return _error("start and end must be ISOTimestamps")
        schedule = str(variables.get("id", ""))
        if not any(d.schedule == schedule for d in self.duties):
            return web.json_response({"data": {"schedule": None}})
        shifts = [
            self._shift(d, start, end)
            for d in self.duties
            if d.schedule == schedule and overlaps(d, start, end)
        ]
        return web.json_response({"data": {"schedule": {"shifts": shifts}}})

    def _shift(self, duty: Duty, start: datetime, end: datetime) -> JsonDict:
        person = self.people[duty.person]
        begins = max(duty.start or start, start)
        ends = min(duty.end or end, end)
        return {
            "userID": person.id,
            "user": {"name": person.name, "email": person.email},
            "start": _iso(begins),
            "end": _iso(ends),
            "truncated": duty.end is None or duty.end > end,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _error(message: str) -> web.Response:
    return web.json_response({"errors": [{"message": message}]})
