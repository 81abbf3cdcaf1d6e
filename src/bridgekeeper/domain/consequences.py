"""What a change to an incident causes besides its timeline entry, in one table.

Every entry refreshes the status card and (unless it is recorded quietly) is posted to the bridge
channel. Beyond that, the kind of entry decides:

- TOPIC: the bridge channel's topic is redrawn (services/incidents.py);
- ANNOUNCEMENT: the stakeholder announcement is edited in place (services/stakeholders.py);
- REMINDERS: the update, commander and review reminders are moved or cancelled
  (services/updates.py);
- HOME_TABS: the App Home tabs of the incident's people are redrawn (services/home.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Consequence(StrEnum):
    TOPIC = "topic"
    ANNOUNCEMENT = "announcement"
    REMINDERS = "reminders"
    HOME_TABS = "home_tabs"


TOPIC, ANNOUNCEMENT, REMINDERS, HOME_TABS = Consequence

TABLE: dict[str, frozenset[Consequence]] = {
    "declared": frozenset({ANNOUNCEMENT, REMINDERS, HOME_TABS}),
    "severity_changed": frozenset({TOPIC, ANNOUNCEMENT, REMINDERS, HOME_TABS}),
    "stage_changed": frozenset({TOPIC, ANNOUNCEMENT, HOME_TABS}),
    "role_assigned": frozenset({TOPIC, REMINDERS, HOME_TABS}),
    "closed": frozenset({TOPIC, ANNOUNCEMENT, REMINDERS, HOME_TABS}),
    "reopened": frozenset({TOPIC, ANNOUNCEMENT, REMINDERS, HOME_TABS}),
    "update_posted": frozenset({ANNOUNCEMENT, REMINDERS}),
    "task_added": frozenset({HOME_TABS}),
    "task_done": frozenset({HOME_TABS}),
}


def causes(kind: str, data: Mapping[str, Any] | None = None) -> frozenset[Consequence]:
    """What an entry of this kind causes; a new commander also shows on the announcement."""
    found = TABLE.get(kind, frozenset())
    if kind == "role_assigned" and (data or {}).get("role") == "commander":
        found |= {ANNOUNCEMENT}
    return found
