"""What became of a webhook's alert, and the alert as stored: its row and its keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridgekeeper.domain.alerts import model
from bridgekeeper.store.models import Alert

DEDUP_KEY_MAX = 400
SOURCE_SEVERITY_MAX = 60


class Result(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    ATTACHED = "attached"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Outcome:
    alert_id: int
    result: Result
    incident: int | None  # the incident's number


def new_row(alert: model.Alert, now: datetime) -> Alert:
    resolved = alert.status is model.AlertStatus.RESOLVED
    return Alert(
        source=alert.source,
        external_id=alert.external_id,
        dedup_key=stored_dedup_key(alert),
        title=alert.title,
        description=alert.description,
        severity=alert.severity.value,
        source_severity=alert.source_severity[:SOURCE_SEVERITY_MAX],
        status=alert.status.value,
        resource=alert.resource,
        entities=dict(alert.entities),
        correlation_keys=sorted(alert.correlation_keys),
        link=alert.link,
        first_seen=min(alert.started_at or now, now),
        last_seen=now,
        resolved_at=min(alert.ended_at or now, now) if resolved else None,
        occurrences=1,
        raw=alert.raw,
        triage="new",
        card_version=0,
    )


def stored_dedup_key(alert: model.Alert) -> str:
    """The dedup key as stored: digested when longer than the column."""
    if len(alert.dedup_key) <= DEDUP_KEY_MAX:
        return alert.dedup_key
    return f"{alert.source}:sha256:{digest(alert.dedup_key)}"


def delivery_key(alert: model.Alert) -> str | None:
    """The key of the sender's delivery, for senders that name theirs (a redelivery is then a
    no-op); None for the others, whose repeated body is one more occurrence."""
    if not alert.delivery_id:
        return None
    return f"{alert.source}:{digest(f'id:{alert.delivery_id}|{alert.dedup_key}')}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
