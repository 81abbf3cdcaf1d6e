"""An incident and what it holds: its timeline, roles, members, tasks, follow-ups, notification
clocks and evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.domain.timeline import CHAIN_VERSION
from bridgekeeper.store.tables.base import Base, BigId


class Counter(Base):
    """Named sequences that work the same on every database (incident numbers)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    initial_severity: Mapped[str] = mapped_column(String(10))
    stage: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), index=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_by: Mapped[str] = mapped_column(String(40))
    declared_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    channel_id: Mapped[str | None] = mapped_column(String(40))
    channel_name: Mapped[str | None] = mapped_column(String(80))
    impact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timeline_head: Mapped[str] = mapped_column(String(64), default="")
    timeline_length: Mapped[int] = mapped_column(Integer, default=0)
    # How the timeline's chain starts (domain/timeline.py): rows from before migration 0003 are
    # version 1; bridgekeeper declares new incidents with the current version.
    chain_version: Mapped[int] = mapped_column(
        Integer, default=CHAIN_VERSION, server_default=text("1")
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    # what the close form records (services/closing.py); None: not recorded
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    went_well: Mapped[str | None] = mapped_column(Text)
    to_improve: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[str | None] = mapped_column(String(20))
    follow_ups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # owner, text
    closed_by: Mapped[str | None] = mapped_column(String(40))
    archive_due_at: Mapped[datetime | None] = mapped_column(index=True)
    archived_at: Mapped[datetime | None]
    # The status card's latest render was parked (Slack refused it, or its lane ran out of
    # attempts): the next change of any kind draws the card again (store/outbox.py sets it when
    # parking or retrying a render, services/incidents.py clears it when drawing the card).
    status_card_parked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TimelineEntry(Base):
    """Append-only: a correction is a new entry. Hash-chained per incident."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq"),
        UniqueConstraint("incident_id", "source_key"),
        Index("ix_timeline_entries_kind", "incident_id", "kind", "seq"),  # the latest of a kind
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_key: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (Index("ix_role_assignments_current", "incident_id", "role", "ended_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(40))
    assigned_by: Mapped[str] = mapped_column(String(40))
    assigned_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class IncidentMember(Base):
    """Who is in an incident's bridge channel, as far as bridgekeeper knows: the people it
    invited, and those Slack told it joined (member_joined_channel) and have not left."""

    __tablename__ = "incident_members"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    since: Mapped[datetime]


class Task(Base):
    """An action item of an incident; open ones show on the status card."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    done_by: Mapped[str | None] = mapped_column(String(40))
    done_at: Mapped[datetime | None]
    followup: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Followup(Base):
    """A follow-up task's issue in the team's tracker: stored before the tracker is called (the
    intent), its key once created, its state as the tracker last reported it."""

    __tablename__ = "followups"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    tracker: Mapped[str] = mapped_column(String(20))  # github, gitlab, jira, jira-dc
    marker: Mapped[str] = mapped_column(String(80), unique=True)  # the label that finds it again
    called: Mapped[bool] = mapped_column(Boolean, default=False)  # a creation was attempted
    key: Mapped[str | None] = mapped_column(String(80), index=True)  # 42, PROJ-7
    url: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(String(80))  # the tracker's own word
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    state_at: Mapped[datetime | None]


class NotificationClock(Base):
    """A regulatory notification clock (GDPR, NIS2...) started for an incident."""

    __tablename__ = "notification_clocks"
    __table_args__ = (UniqueConstraint("incident_id", "regime"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    regime: Mapped[str] = mapped_column(String(40))
    aware_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    # [{"label", "start_at", "due_at" (ISO 8601, none while waiting for an event), "waiting_for",
    #   "done_at", "done_by"}], in deadline order
    deadlines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    events: Mapped[dict[str, str] | None] = mapped_column(JSON)  # classification, ...: ISO 8601
    status: Mapped[str] = mapped_column(String(15), default="open")  # open, done, not_required
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None]
    rationale: Mapped[str | None] = mapped_column(Text)


class EvidenceItem(Base):
    """An item of an incident's evidence register, as it stands now; its chain of custody is on
    the timeline (`evidence_*` entries), which the audit replays against this row."""

    __tablename__ = "evidence_items"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    collected_by: Mapped[str] = mapped_column(String(40))
    collected_at: Mapped[datetime]
    custodian: Mapped[str] = mapped_column(String(40))
