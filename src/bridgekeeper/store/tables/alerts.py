"""Alerts as stored from webhooks, and the deliveries that made them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.tables.base import Base, BigId


class Alert(Base):
    """A normalised alert; the same dedup key while firing is one alert with a count."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_firing_dedup_key",
            "dedup_key",
            unique=True,
            sqlite_where=text("status = 'firing'"),
            postgresql_where=text("status = 'firing'"),
        ),
        Index("ix_alerts_source_first_seen", "source", "first_seen"),
        Index("ix_alerts_dedup_key", "dedup_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(Text)
    dedup_key: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(10))
    source_severity: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10))
    resource: Mapped[str | None] = mapped_column(Text)
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    correlation_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    link: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    triage: Mapped[str] = mapped_column(String(20), default="new")
    triaged_by: Mapped[str | None] = mapped_column(String(40))
    triaged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(40))
    triage_comment: Mapped[str | None] = mapped_column(Text)
    card_version: Mapped[int] = mapped_column(Integer, default=0)
    card_refresh_at: Mapped[datetime | None]  # the triage card's latest render queued for
    incident_number: Mapped[int | None] = mapped_column(Integer)  # shown on the triage card
    carded_at: Mapped[datetime | None] = mapped_column(index=True)  # its card (or digest line)
    digest: Mapped[int | None] = mapped_column(BigId, index=True)  # the storm digest it went into


class AlertDelivery(Base):
    """Webhook deliveries already stored: a sender's redelivery is a no-op."""

    __tablename__ = "alert_deliveries"
    delivery_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    received_at: Mapped[datetime]
