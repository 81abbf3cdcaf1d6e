"""PagerDuty's REST API: `GET /oncalls` for a schedule or an escalation policy, every page.

https://developer.pagerduty.com/api-reference/3a6b910f11050-list-all-of-the-on-calls
The answer is `{"oncalls": [{"user": {..., "email"}, "schedule", "escalation_policy",
"escalation_level", "start", "end"}], "limit", "offset", "more"}`; `start` and `end` are null for
someone on call permanently (an escalation rule naming a user).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp

from bridgekeeper.oncall_sources import Duty, ScheduleUnreadable
from bridgekeeper.oncall_sources.http import call

TOOL = "PagerDuty"
PAGE_SIZE = 100
MAX_PAGES = 50
ACCEPT = "application/vnd.pagerduty+json;version=2"


async def duties(
    session: aiohttp.ClientSession,
    *,
    url: str,
    token: str,
    schedule: str | None,
    escalation_policy: str | None,
    since: datetime,
    until: datetime,
    timeout: float,
) -> list[Duty]:
    """The shifts of a schedule, or of an escalation policy's first level, over the span."""
    headers = {"Authorization": f"Token token={token}", "Accept": ACCEPT}
    query = [
        ("since", since.isoformat()),
        ("until", until.isoformat()),
        ("include[]", "users"),
        ("limit", str(PAGE_SIZE)),
    ]
    if schedule:
        query.append(("schedule_ids[]", schedule))
    else:
        query.append(("escalation_policy_ids[]", escalation_policy or ""))
    found: list[Duty] = []
    for page in range(MAX_PAGES):
        params = [*query, ("offset", str(page * PAGE_SIZE))]
        body = await call(
            session,
            "GET",
            f"{url.rstrip('/')}/oncalls",
            tool=TOOL,
            headers=headers,
            params=params,
            timeout=timeout,
        )
        entries = _entries(body)
        found += [_duty(e, since, until) for e in entries if _first_level(e, schedule)]
        if not body.get("more") or not entries:
            break
    return found


def _entries(body: Any) -> list[dict[str, Any]]:
    entries = body.get("oncalls") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScheduleUnreadable(TOOL, "an answer without oncalls")
    return entries


def _first_level(entry: dict[str, Any], schedule: str | None) -> bool:
    """A schedule's entries are all its own; an escalation policy's first level is its on-call."""
    return schedule is not None or entry.get("escalation_level") == 1


def _duty(entry: dict[str, Any], since: datetime, until: datetime) -> Duty:
    user = entry.get("user") or {}
    try:
        start = datetime.fromisoformat(entry["start"]) if entry.get("start") else since
        end = datetime.fromisoformat(entry["end"]) if entry.get("end") else until
    except (TypeError, ValueError):
        raise ScheduleUnreadable(TOOL, "an on-call entry with unreadable times") from None
    name = str(user.get("name") or user.get("summary") or user.get("id") or "?")
    return Duty(name, str(user.get("email") or ""), start, end)
