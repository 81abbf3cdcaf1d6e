"""What a change to an incident causes besides its timeline entry, in one table.

Every entry (unless it is recorded quietly) is posted to the bridge channel. Beyond that, the
kind of entry decides:

- STATUS_CARD: the status card is redrawn, for every entry but those the card does not show
  (OFF_THE_CARD; after a redraw that was parked, any entry redraws it: services/incidents.py);
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
    STATUS_CARD = "status_card"
    TOPIC = "topic"
    ANNOUNCEMENT = "announcement"
    REMINDERS = "reminders"
    HOME_TABS = "home_tabs"


STATUS_CARD, TOPIC, ANNOUNCEMENT, REMINDERS, HOME_TABS = Consequence

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

# The status card shows the title, severity, stage, roles, impact, open tasks and notification
# deadlines: these entries change none of them, and a redraw per note would spend a Slack call
# (chat.update) on a card that reads the same. A kind not named here redraws it.
OFF_THE_CARD = frozenset(
    {
        "note",
        "pinned",
        "pinned_edited",
        "update_posted",
        "alert_attached",
        "alert_resolved",
        "page_sent",
        "page_escalated",
        "page_acknowledged",
        "page_exhausted",
        "evidence_added",
        "evidence_transferred",
        "evidence_verified",
        "indicator_confirmed",
        "indicator_dismissed",
        "indicators_exported",
        "followups_exported",
    }
)


def causes(kind: str, data: Mapping[str, Any] | None = None) -> frozenset[Consequence]:
    """What an entry of this kind causes; a new commander also shows on the announcement."""
    found = TABLE.get(kind, frozenset())
    if kind not in OFF_THE_CARD:
        found |= {STATUS_CARD}
    if kind == "role_assigned" and (data or {}).get("role") == "commander":
        found |= {ANNOUNCEMENT}
    return found
