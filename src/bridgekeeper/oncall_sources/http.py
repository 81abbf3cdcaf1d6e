"""One JSON call to a paging tool, its failures as ScheduleUnreadable."""

from __future__ import annotations

from typing import Any

import aiohttp

from bridgekeeper.oncall_sources import ScheduleUnreadable


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    tool: str,
    headers: dict[str, str],
    timeout: float,
    json: Any = None,
    params: list[tuple[str, str]] | None = None,
) -> Any:
    """The answer's JSON; raises ScheduleUnreadable (`refused` on 401 and 403)."""
    limit = aiohttp.ClientTimeout(total=timeout)
    try:
        async with session.request(
            method, url, headers=headers, json=json, params=params, timeout=limit
        ) as answer:
            if answer.status in (401, 403):
                raise ScheduleUnreadable(tool, f"HTTP {answer.status}", refused=True)
            if answer.status >= 400:
                raise ScheduleUnreadable(tool, f"HTTP {answer.status}")
            return await answer.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise ScheduleUnreadable(tool, type(exc).__name__) from None
