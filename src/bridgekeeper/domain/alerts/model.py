"""The normalised alert every source parser produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bridgekeeper.domain.incidents import Severity


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class PayloadError(ValueError):
    """Valid JSON of the wrong shape: the message says which field is wrong (HTTP 422)."""


@dataclass(frozen=True)
class Alert:
    source: str  # route name: generic, azure-monitor, defender, sentinel, ...
    external_id: str  # the source's id of this alert instance
    dedup_key: str  # stable across fire -> update -> resolve, prefixed by source
    title: str
    severity: Severity
    source_severity: str  # the vendor's own value, as sent ("Sev1", "High", "critical", "P2")
    status: AlertStatus
    description: str = ""
    resource: str | None = None  # normalised: Azure resource ids lower-cased
    entities: dict[str, list[str]] = field(default_factory=dict)  # hosts, ips, accounts
    link: str | None = None
    started_at: datetime | None = None  # timezone-aware UTC
    ended_at: datetime | None = None
    delivery_id: str | None = None  # idempotency key of this HTTP delivery, when the source has one
    correlation_keys: frozenset[str] = frozenset()  # grouping hints, e.g. "host:vm-web-01"
    raw: dict[str, Any] = field(default_factory=dict)  # the alert's own part of the payload
