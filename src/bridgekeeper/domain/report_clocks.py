"""The report's regulatory assessment: each notification clock, and each deadline with when it
was due, when it was sent and by whom, and whether it was met, missed, pending or waiting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridgekeeper.domain import regimes
from bridgekeeper.domain.report_timeline import iso, iso_text, stored_moment


@dataclass(frozen=True)
class RegulatoryClock:
    regime: str
    status: str  # open, done, not_required
    aware_at: datetime | None = None
    deadlines: Sequence[Mapping[str, Any]] = ()  # {"label", "due_at", "done_at", "done_by"}
    decided_by: str | None = None
    decided_at: datetime | None = None
    rationale: str | None = None
    started_at: datetime | None = None  # when bridgekeeper started tracking it


def report_clock(clock: RegulatoryClock, now: datetime | None) -> dict[str, Any]:
    required = clock.status != regimes.NOT_REQUIRED
    return {
        "regime": clock.regime,
        "status": clock.status,
        "aware_at": iso(clock.aware_at),
        "deadlines": [_deadline(d, now, required=required) for d in clock.deadlines],
        "decided_by": clock.decided_by,
        "decided_at": iso(clock.decided_at),
        "rationale": clock.rationale,
    }


def _deadline(stored: Mapping[str, Any], now: datetime | None, *, required: bool) -> dict[str, Any]:
    due, done = (iso_text(stored.get(key)) for key in ("due_at", "done_at"))
    return {
        "label": str(stored.get("label") or ""),
        "due_at": due,
        "waiting_for": stored.get("waiting_for"),
        "done_at": done,
        "done_by": stored.get("done_by"),
        "outcome": regimes.outcome(stored_moment(due), stored_moment(done), now, required=required),
    }
