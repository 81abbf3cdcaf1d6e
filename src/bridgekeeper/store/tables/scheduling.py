"""Scheduled jobs and the leader lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.tables.base import Base


class ScheduledJob(Base):
    """A durable reminder: fired once by whichever process holds the lease, re-armed or done."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (Index("ix_scheduled_jobs_due", "status", "due_at"),)
    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # "update-reminder:42"
    kind: Mapped[str] = mapped_column(String(40))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, done, cancelled
    fired_at: Mapped[datetime | None]  # the last time it reminded someone


class Lease(Base):
    """Leadership among replicas: the holder of a live lease runs the worker and scheduler."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
