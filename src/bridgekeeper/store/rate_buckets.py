"""Slack rate-limit buckets shared by every replica, in the database (`slack_rate_buckets`).

On PostgreSQL each take is one short statement in its own transaction: an upsert that refills
the bucket from its `updated_at`, by the database's clock, and takes a token only if one is
there and no Retry-After hold is running. Replicas sharing the database therefore together stay
within each of Slack's limits. The row is locked for that statement alone, never while Slack is
being called.

With SQLite, bridgekeeper is a single delivering process, so the buckets live in its memory.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Float, Table, and_, cast, extract, func, select
from sqlalchemy.dialects import postgresql

from bridgekeeper.slack.limits import Limit, wait_for_token
from bridgekeeper.slack.rate_limiter import Buckets, MemoryBuckets
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import SlackRateBucket

_BUCKETS: Table = SlackRateBucket.__table__  # type: ignore[assignment]
_NOW = cast(extract("epoch", func.statement_timestamp()), Float)  # one instant per statement
REFUSED_WAIT = 1e-3  # the least wait after a refused take (SQL and Python round differently)


def buckets_for(db: Database) -> Buckets:
    """Where this process keeps its rate-limit buckets: shared in PostgreSQL, else in memory."""
    return MemoryBuckets() if db.is_sqlite else SharedBuckets(db)


class SharedBuckets:
    """Buckets in PostgreSQL, shared by every replica."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(self, key: str, limit: Limit) -> float:
        return await self.db.run_in_transaction(lambda conn: take(conn, key, limit))

    async def hold(self, key: str, limit: Limit, seconds: float) -> None:
        await self.db.run_in_transaction(lambda conn: hold(conn, key, limit, seconds))


def take(conn: Connection, key: str, limit: Limit) -> float:
    """Take a token: 0.0 when taken, else the seconds until the bucket has one."""
    bucket = _BUCKETS.c
    tokens = func.least(
        limit.burst, bucket.tokens + func.greatest(0.0, _NOW - bucket.updated_at) * limit.per_second
    )
    new = {"key": key, "tokens": limit.burst - 1, "updated_at": _NOW, "held_until": 0.0}
    statement = (
        postgresql.insert(_BUCKETS)
        .values(new)
        .on_conflict_do_update(
            index_elements=[bucket.key],
            set_={"tokens": tokens - 1, "updated_at": func.greatest(bucket.updated_at, _NOW)},
            where=and_(bucket.held_until <= _NOW, tokens >= 1),
        )
        .returning(bucket.key)
    )
    if conn.scalar(statement) is not None:
        return 0.0
    return _wait(conn, key, limit)


def _wait(conn: Connection, key: str, limit: Limit) -> float:
    bucket = _BUCKETS.c
    row: Any = conn.execute(
        select(bucket.tokens, bucket.updated_at, bucket.held_until, _NOW.label("now")).where(
            bucket.key == key
        )
    ).one()
    wait = wait_for_token(
        limit, tokens=row.tokens, updated_at=row.updated_at, held_until=row.held_until, now=row.now
    )
    return max(wait, REFUSED_WAIT)


def hold(conn: Connection, key: str, limit: Limit, seconds: float) -> None:
    """Slack answered 429: the bucket gives nothing for `seconds`, then one call."""
    bucket = _BUCKETS.c
    until = func.greatest(bucket.held_until, _NOW + seconds)
    held = {"key": key, "tokens": 1.0, "updated_at": _NOW + seconds, "held_until": _NOW + seconds}
    statement = (
        postgresql.insert(_BUCKETS)
        .values(held)
        .on_conflict_do_update(
            index_elements=[bucket.key],
            set_={"tokens": 1.0, "updated_at": until, "held_until": until},
        )
    )
    conn.execute(statement)
