"""The outbox and what delivering to Slack remembers: effects, lanes, posted messages, seen
events, shared rate buckets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.tables.base import Base, BigId

_OPENING = text("status = 'pending' AND kind = 'create_channel'")


class Effect(Base):
    """The outbox: Slack effects committed with the state change that implies them."""

    __tablename__ = "effects"
    __table_args__ = (
        Index("ix_effects_pending", "status", "next_attempt_at"),
        Index("ix_effects_lane", "status", "lane", "id"),
        Index("ix_effects_card", "card_key", "status", "next_attempt_at"),
        Index(  # the channels still to be created (store/lanes.py)
            "ix_effects_opening",
            "kind",
            "status",
            "incident_id",
            sqlite_where=_OPENING,
            postgresql_where=_OPENING,
        ),
        UniqueConstraint("dedup_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(40))
    lane: Mapped[str] = mapped_column(String(160), server_default=text("''"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    card_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxLane(Base):
    """Which replica is delivering an outbox lane, until when (taken over after that)."""

    __tablename__ = "outbox_lanes"
    lane: Mapped[str] = mapped_column(String(160), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class SlackMessage(Base):
    """Messages the bot posted and keeps current (status card, announcement, triage cards)."""

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str] = mapped_column(String(40))
    posted_at: Mapped[datetime]


class SeenEvent(Base):
    """Slack event ids already handled: a redelivery changes nothing."""

    __tablename__ = "seen_events"
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime]


class SlackRateBucket(Base):
    """One of the workspace's Slack rate-limit buckets (a method, or chat.postMessage in one
    channel), shared by every replica: tokens left at `updated_at` (epoch seconds), and a
    Retry-After hold."""

    __tablename__ = "slack_rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    held_until: Mapped[float] = mapped_column(Float, server_default=text("0"))
