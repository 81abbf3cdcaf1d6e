"""GoAlert's GraphQL API: a schedule's shifts between two moments.

`POST /api/graphql` with `Authorization: Bearer <API key>`; the schema (graphql2/schema.graphql)
has `schedule(id: ID!): Schedule` and `Schedule.shifts(start: ISOTimestamp!, end:
ISOTimestamp!): [OnCallShift!]!`, an OnCallShift being `userID`, `user { name email }`, `start`,
`end` and `truncated` (the shift goes on past the span asked). Errors come as
`{"errors": [{"message": ...}]}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp

from bridgekeeper.oncall_sources import Duty, ScheduleUnreadable
from bridgekeeper.oncall_sources.http import call

TOOL = "GoAlert"
QUERY = (
    "query ($id: ID!, $start: ISOTimestamp!, $end: ISOTimestamp!) { schedule(id: $id) { "
    "shifts(start: $start, end: $end) { userID user { name email } start end truncated } } }"
)


async def duties(
    session: aiohttp.ClientSession,
    *,
    url: str,
    token: str,
    schedule: str,
    since: datetime,
    until: datetime,
    timeout: float,
) -> list[Duty]:
    variables = {"id": schedule, "start": since.isoformat(), "end": until.isoformat()}
    body = await call(
        session,
        "POST",
        f"{url.rstrip('/')}/api/graphql",
        tool=TOOL,
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
        json={"query": QUERY, "variables": variables},
    )
    if not isinstance(body, dict):
        raise ScheduleUnreadable(TOOL, "an answer that is not an object")
    if body.get("errors"):
        raise ScheduleUnreadable(TOOL, "a GraphQL error")
    found = (body.get("data") or {}).get("schedule")
    if not isinstance(found, dict) or not isinstance(found.get("shifts"), list):
        raise ScheduleUnreadable(TOOL, "no such schedule")
    return [_duty(shift) for shift in found["shifts"]]


def _duty(shift: Any) -> Duty:
    try:
        user = shift.get("user") or {}
        start, end = datetime.fromisoformat(shift["start"]), datetime.fromisoformat(shift["end"])
    except (AttributeError, KeyError, TypeError, ValueError):
        raise ScheduleUnreadable(TOOL, "a shift with unreadable times") from None
    name = str(user.get("name") or shift.get("userID") or "?")
    return Duty(name, str(user.get("email") or ""), start, end)
