"""Pages sent to people on call, with their escalation state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.tables.base import Base, BigId


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
