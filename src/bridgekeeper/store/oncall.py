"""On-call overrides: set, listed, removed (a removed one is kept, marked)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import OnCallOverride


def add(
    *,
    session: AsyncSession,
    team: str,
    user: str,
    start: datetime,
    end: datetime,
    by: str,
    at: datetime,
) -> OnCallOverride:
    row = OnCallOverride(
        team=team, user_id=user, starts_at=start, ends_at=end, created_by=by, created_at=at
    )
    session.add(row)
    return row


async def current(
    *, session: AsyncSession, teams: Sequence[str], after: datetime
) -> list[OnCallOverride]:
    """The overrides of these teams not removed and ending after `after`, in the order set."""
    query = (
        select(OnCallOverride)
        .where(
            OnCallOverride.team.in_(teams),
            OnCallOverride.ends_at > after,
            OnCallOverride.removed_at.is_(None),
        )
        .order_by(OnCallOverride.id)
    )
    return list(await session.scalars(query))


async def get(*, session: AsyncSession, number: int) -> OnCallOverride | None:
    row = await session.get(OnCallOverride, number, with_for_update=True)
    return row if row is not None and row.removed_at is None else None


def remove(row: OnCallOverride, *, by: str, at: datetime) -> None:
    row.removed_by = by
    row.removed_at = at
