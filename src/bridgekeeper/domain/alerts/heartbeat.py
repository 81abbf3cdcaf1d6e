"""Heartbeats (a dead man's switch): a job or a monitoring pipeline pings `/heartbeats/<name>`
at least every interval; when a ping is late, bridgekeeper raises an alert of its own, and the
next ping resolves it. Alertmanager's always-firing Watchdog alert is such a ping; its resolved
notification (sent when the Watchdog stops firing, i.e. when the pipeline broke) is not."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from bridgekeeper.domain.alerts import fields
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "heartbeat"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
INTERVAL = re.compile(r"(\d{1,7})\s*([smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SHORTEST = timedelta(seconds=10)
LONGEST = timedelta(days=31)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise PayloadError("a heartbeat's name is 1-80 lowercase letters, digits, . _ or -")
    return name


def interval_of(text: str) -> timedelta:
    """`300`, `300s`, `5m`, `1h`, `1d`."""
    match = INTERVAL.fullmatch(text.strip().lower())
    if match is None:
        raise PayloadError("interval must be a number of seconds or like 5m, 1h, 1d")
    interval = timedelta(seconds=int(match[1]) * UNITS[match[2]])
    if not SHORTEST <= interval <= LONGEST:
        raise PayloadError("interval must be between 10 seconds and 31 days")
    return interval


def is_resolved_notification(body: bytes) -> bool:
    """An Alertmanager or Grafana webhook saying its alerts are resolved: the always-firing
    Watchdog stopped, so the pipeline it proves alive is broken; not a ping."""
    if not body.strip():
        return False
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("alerts"), list)
        and str(payload.get("status", "")).lower() == "resolved"
    )


def grace(interval: timedelta) -> timedelta:
    """How late a ping may be before it counts as missed: a tenth of the interval, plus 30 s
    for the sender's own scheduling and the network."""
    return interval / 10 + timedelta(seconds=30)


def missed(name: str, interval: timedelta, last_ping: datetime, now: datetime) -> Alert:
    every = describe(interval)
    return Alert(
        source=SOURCE,
        external_id=name,
        dedup_key=f"{SOURCE}:{name}",
        title=f"Heartbeat {name} missed",
        severity=Severity.SEV2,
        source_severity="",
        status=AlertStatus.FIRING,
        description=fields.join_lines(
            f"Expected a ping every {every}; the last came at {last_ping:%Y-%m-%d %H:%M:%S} UTC.",
            "Whatever sends it (a job, a monitoring pipeline) may have stopped, or cannot reach "
            "bridgekeeper. The next ping resolves this alert.",
        ),
        resource=name,
        started_at=now,
    )


def back(name: str, now: datetime) -> Alert:
    return Alert(
        source=SOURCE,
        external_id=name,
        dedup_key=f"{SOURCE}:{name}",
        title=f"Heartbeat {name} missed",
        severity=Severity.SEV2,
        source_severity="",
        status=AlertStatus.RESOLVED,
        started_at=now,
        ended_at=now,
    )


def describe(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
