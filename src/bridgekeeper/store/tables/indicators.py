"""The table of indicators of compromise (domain/indicators.py): what was found in an incident's
notes, pins and alerts, where, and what a responder decided of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.tables.base import Base, BigId


class Indicator(Base):
    """An indicator of an incident, numbered in it; `sources` holds where it was first seen (a
    few places: a note, a pin, an alert's entities). Confirming or dismissing it is also a
    timeline entry (`indicator_confirmed`, `indicator_dismissed`)."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("incident_id", "type", "value"),
        UniqueConstraint("incident_id", "number"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default="seen")
    first_seen_at: Mapped[datetime]
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
