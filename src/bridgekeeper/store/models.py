"""Every database table, as typed SQLAlchemy 2 models (defined in store/tables/, one module per
area). Importing this module registers them all; Alembic migrations mirror them."""

from bridgekeeper.store.tables.alerts import Alert, AlertDelivery
from bridgekeeper.store.tables.base import Base, BigId, UTCDateTime
from bridgekeeper.store.tables.delivery import (
    Effect,
    OutboxLane,
    SeenEvent,
    SlackMessage,
    SlackRateBucket,
)
from bridgekeeper.store.tables.incidents import (
    Counter,
    EvidenceItem,
    Followup,
    Incident,
    IncidentMember,
    NotificationClock,
    RoleAssignment,
    Task,
    TimelineEntry,
)
from bridgekeeper.store.tables.indicators import Indicator
from bridgekeeper.store.tables.pages import Page
from bridgekeeper.store.tables.people import ConsoleSignout, OnCallOverride
from bridgekeeper.store.tables.reports import Report, ReportPart
from bridgekeeper.store.tables.scheduling import Lease, ScheduledJob

__all__ = [
    "Alert",
    "AlertDelivery",
    "Base",
    "BigId",
    "ConsoleSignout",
    "Counter",
    "Effect",
    "EvidenceItem",
    "Followup",
    "Incident",
    "IncidentMember",
    "Indicator",
    "Lease",
    "NotificationClock",
    "OnCallOverride",
    "OutboxLane",
    "Page",
    "Report",
    "ReportPart",
    "RoleAssignment",
    "ScheduledJob",
    "SeenEvent",
    "SlackMessage",
    "SlackRateBucket",
    "Task",
    "TimelineEntry",
    "UTCDateTime",
]
