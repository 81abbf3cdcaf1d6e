"""Pages: one row per page of a team or a person for an incident, as it stands now (its level,
who was paged, who acknowledged); each step is also on the incident's timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.models import Base, BigId

TRIGGERED = "triggered"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
EXHAUSTED = "exhausted"


class Page(Base):
    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    team: Mapped[str | None] = mapped_column(String(40))  # a page of a team's on-call
    user_id: Mapped[str | None] = mapped_column(String(40))  # a page of one person
    message: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)  # 1-based, in the escalation policy
    cycle: Mapped[int] = mapped_column(Integer)  # passes through the levels so far
    status: Mapped[str] = mapped_column(String(20))  # triggered, acknowledged, resolved, exhausted
    paged: Mapped[list[str]] = mapped_column(JSON, default=list)  # everyone paged so far
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    acked_by: Mapped[str | None] = mapped_column(String(40))
    acked_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # resolved or exhausted
    dedup_key: Mapped[str] = mapped_column(String(80), unique=True)  # PagerDuty's, and ours
    pagerduty: Mapped[bool] = mapped_column(default=False)  # the team's PagerDuty was triggered


async def get(session: AsyncSession, page_id: int, *, lock: bool = False) -> Page | None:
    query = select(Page).where(Page.id == page_id).execution_options(populate_existing=True)
    return await session.scalar(query.with_for_update() if lock else query)


async def of_incident(session: AsyncSession, incident_id: int) -> list[Page]:
    query = select(Page).where(Page.incident_id == incident_id).order_by(Page.id)
    return list(await session.scalars(query))
