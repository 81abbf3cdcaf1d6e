"""The audit of the evidence register: each item's row against what its timeline entries say.

Every `evidence_*` entry records the item's whole state after the change, so the last entry of
an item says what its row must hold; a hash, custodian or description changed with SQL, an item
added or removed behind the bot's back, shows as a difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bridgekeeper.domain import evidence as ev
from bridgekeeper.services.audit_state import shown
from bridgekeeper.store.models import EvidenceItem, TimelineEntry

COMPARED = (
    "description",
    "sha256",
    "location",
    "file_name",
    "file_size",
    "collected_by",
    "collected_at",
    "custodian",
)


def implied(entries: Iterable[TimelineEntry]) -> dict[int, dict[str, Any]]:
    """Each item's state by its last entry, by number."""
    items: dict[int, dict[str, Any]] = {}
    for entry in entries:
        data = entry.data or {}
        if entry.kind in ev.KINDS and isinstance(data.get("number"), int):
            items[data["number"]] = data
    return items


def differences(entries: Iterable[TimelineEntry], rows: Sequence[EvidenceItem]) -> list[str]:
    expected = implied(entries)
    found: list[str] = []
    for row in rows:
        state = expected.pop(row.number, None)
        if state is None:
            found.append(f"evidence {row.number}: not on the timeline")
            continue
        for name in COMPARED:
            value = getattr(row, name)
            actual = value.isoformat() if name == "collected_at" else value
            if state.get(name) != actual:
                found.append(
                    f"evidence {row.number} {name}: the timeline says {shown(state.get(name))}, "
                    f"the register says {shown(actual)}"
                )
    found.extend(f"evidence {number}: missing from the register" for number in sorted(expected))
    return found
