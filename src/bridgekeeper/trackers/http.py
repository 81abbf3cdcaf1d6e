"""One JSON call to a tracker, its failures sorted into retryable and not."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from bridgekeeper.domain.text import is_digits
from bridgekeeper.trackers import TrackerError, TrackerRetryable

TIMEOUT = aiohttp.ClientTimeout(total=30)


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    kind: str,
    headers: dict[str, str],
    json: Any = None,
    params: dict[str, str] | None = None,
) -> Any:
    """The answer's JSON; raises TrackerRetryable or TrackerError with the status."""
    what = f"{kind} {method}"
    try:
        async with session.request(
            method, url, headers=headers, json=json, params=params, timeout=TIMEOUT
        ) as answer:
            if answer.status == 429 or answer.status >= 500 or _rate_limited(answer):
                raise TrackerRetryable(what, f"HTTP {answer.status}", _retry_after(answer))
            if answer.status >= 400:
                raise TrackerError(what, f"HTTP {answer.status}")
            return await answer.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise TrackerRetryable(what, type(exc).__name__) from None


def _rate_limited(answer: aiohttp.ClientResponse) -> bool:
    """GitHub answers its rate limits 403 as well as 429: with Retry-After (a secondary
    limit) or with no requests left (x-ratelimit-remaining: 0) until x-ratelimit-reset."""
    headers = answer.headers
    return answer.status == 403 and (
        "Retry-After" in headers or headers.get("x-ratelimit-remaining") == "0"
    )


def _retry_after(answer: aiohttp.ClientResponse) -> float | None:
    value = answer.headers.get("Retry-After", "")
    if is_digits(value):
        return float(value)
    reset = answer.headers.get("x-ratelimit-reset", "")  # epoch seconds
    return max(0.0, float(reset) - time.time()) if is_digits(reset) else None
