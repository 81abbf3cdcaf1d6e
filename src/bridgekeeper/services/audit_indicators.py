"""The audit of the indicators of compromise: each decision against the timeline.

Confirming or dismissing an indicator is a timeline entry naming its number, type and value, so
the last such entry of an indicator says what its row must hold. A value changed with SQL, or an
indicator confirmed behind the bot's back (the export shares the confirmed ones with other
teams), shows as a difference. Indicators only seen are not on the timeline themselves: the
note, pin or alert they were found in is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bridgekeeper.domain import indicators as ioc
from bridgekeeper.services.audit_state import shown
from bridgekeeper.store.models import Indicator, TimelineEntry

DECISIONS = {ioc.CONFIRMED: "confirmed", ioc.DISMISSED: "dismissed"}
COMPARED = ("type", "value", "status", "decided_by")


def implied(entries: Iterable[TimelineEntry]) -> dict[int, dict[str, Any]]:
    """Each decided indicator's state by its last decision, by number."""
    decided: dict[int, dict[str, Any]] = {}
    for entry in entries:
        data = entry.data or {}
        if entry.kind in DECISIONS and isinstance(data.get("number"), int):
            decided[data["number"]] = {
                **data,
                "status": DECISIONS[entry.kind],
                "decided_by": entry.actor,
            }
    return decided


def differences(entries: Iterable[TimelineEntry], rows: Sequence[Indicator]) -> list[str]:
    expected = implied(entries)
    found: list[str] = []
    for row in rows:
        state = expected.pop(row.number, None)
        if state is None:
            if row.status != "seen":
                found.append(f"indicator {row.number}: {row.status}, but not on the timeline")
            continue
        for name in COMPARED:
            if state.get(name) != getattr(row, name):
                found.append(
                    f"indicator {row.number} {name}: the timeline says {shown(state.get(name))}, "
                    f"the register says {shown(getattr(row, name))}"
                )
    found.extend(f"indicator {number}: missing from the register" for number in sorted(expected))
    return found
