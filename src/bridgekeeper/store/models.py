"""The database tables, as typed SQLAlchemy 2 models. Alembic migrations mirror these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bridgekeeper.domain.timeline import CHAIN_VERSION

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (so: rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


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


class TimelineEntry(Base):
    """Append-only: a correction is a new entry. Hash-chained per incident."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq"),
        UniqueConstraint("incident_id", "source_key"),
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


class SlackMessage(Base):
    """Messages the bot posted and keeps current (status card, announcement, triage cards)."""

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str] = mapped_column(String(40))
    posted_at: Mapped[datetime]


class Effect(Base):
    """The outbox: Slack effects committed with the state change that implies them."""

    __tablename__ = "effects"
    __table_args__ = (
        Index("ix_effects_pending", "status", "next_attempt_at"),
        Index("ix_effects_lane", "status", "lane", "id"),
        UniqueConstraint("dedup_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(40))
    lane: Mapped[str] = mapped_column(String(160), server_default=text("''"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    card_key: Mapped[str | None] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class SeenEvent(Base):
    """Slack event ids already handled: a redelivery changes nothing."""

    __tablename__ = "seen_events"
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime]


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


class Lease(Base):
    """Leadership among replicas: the holder of a live lease runs the worker and scheduler."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class OutboxLane(Base):
    """Which replica is delivering an outbox lane, until when (taken over after that)."""

    __tablename__ = "outbox_lanes"
    lane: Mapped[str] = mapped_column(String(160), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class SlackRateBucket(Base):
    """One of the workspace's Slack rate-limit buckets (a method, or chat.postMessage in one
    channel), shared by every replica: tokens left at `updated_at` (epoch seconds), and a
    Retry-After hold."""

    __tablename__ = "slack_rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    held_until: Mapped[float] = mapped_column(Float, server_default=text("0"))


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


class Report(Base):
    """An incident's report as compiled at one close: one row per version and format, kept."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("incident_id", "version", "format"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(10))  # md, html, json
    body: Mapped[str] = mapped_column(Text)  # all of it, or its first part (see `text`)
    sha256: Mapped[str] = mapped_column(String(64))  # of the UTF-8 text
    timeline_head: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    parts: Mapped[list[ReportPart]] = relationship(
        lazy="selectin", order_by="ReportPart.number", viewonly=True
    )

    @property
    def text(self) -> str:
        """The whole report: `body`, then the parts a long report continues in, in order."""
        return self.body + "".join(part.body for part in self.parts)


class ReportPart(Base):
    """The rest of a long report, in parts of a few megabytes (its first is `Report.body`):
    written as it is rendered, so no process holds a whole long report at once."""

    __tablename__ = "report_parts"
    __table_args__ = (UniqueConstraint("report_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... (0 is Report.body)
    body: Mapped[str] = mapped_column(Text)


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


class ConsoleSignout(Base):
    """When a person last signed out of the web console: every session of theirs made before is
    over, a copied cookie included."""

    __tablename__ = "console_signouts"
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    signed_out_at: Mapped[datetime]


class OnCallOverride(Base):
    """Someone on call for a team instead of its rota, for a while. A removed override is kept,
    with who removed it and when."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_team_ends_at", "team", "ends_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    removed_by: Mapped[str | None] = mapped_column(String(32))
    removed_at: Mapped[datetime | None]


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


# Tables kept in modules of their own, registered with the same metadata.
from bridgekeeper.store import indicator_models as _indicators  # noqa: E402, F401
from bridgekeeper.store import paging as _paging  # noqa: E402, F401
