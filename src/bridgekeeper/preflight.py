"""Checks before `serve` and `worker` start: a database that cannot be reached is one line on
stderr naming it (password hidden) and the reason, not a traceback."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bridgekeeper.config import redact_url
from bridgekeeper.rendering import Renderer

CONNECT_TIMEOUT_SECONDS = 10.0


async def database_reachable(url: str, *, timeout: float = CONNECT_TIMEOUT_SECONDS) -> bool:
    """Connect once and run SELECT 1; on failure print why and return False."""
    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        print(
            Renderer()
            .text(
                "cli/database_unreachable.txt.j2",
                database=redact_url(url),
                reason=database_reason(exc),
            )
            .strip(),
            file=sys.stderr,
        )
        return False
    finally:
        await engine.dispose()
    return True


def database_reason(exc: BaseException) -> str:
    """The driver's own first line (what SQLAlchemy wraps), else the exception's name."""
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]
    return first[0] if first and first[0] else type(exc).__name__
