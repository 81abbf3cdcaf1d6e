"""Checks before `serve` and `worker` start: a database that cannot be reached is one line on
stderr naming it (password hidden) and the reason, not a traceback."""

from __future__ import annotations

import sys

from bridgekeeper.config import DatabaseSettings, redact_url
from bridgekeeper.rendering import Renderer
from bridgekeeper.store.db import DatabaseError, failure_reason
from bridgekeeper.store.engines import ping_url

CONNECT_TIMEOUT_SECONDS = 10.0


async def database_reachable(
    url: str, tuning: DatabaseSettings, *, timeout: float = CONNECT_TIMEOUT_SECONDS
) -> bool:
    """Connect once and run SELECT 1 (once a pool); on failure print why and return False."""
    try:
        await ping_url(url, timeout=timeout, tuning=tuning)
    except (DatabaseError, OSError, TimeoutError) as exc:
        print(
            Renderer()
            .text(
                "cli/database_unreachable.txt.j2",
                database=redact_url(url),
                reason=failure_reason(exc),
            )
            .strip(),
            file=sys.stderr,
        )
        return False
    return True
