"""Bridge-channel messages on an incident's timeline: what a pin records, and edits made after it.

A pin (a :pushpin: reaction or the message shortcut) records the message as it reads when pinned,
at the time it was posted, by its author; when it had been edited before, the entry says so and
when. An edit made after the pin is an entry of its own (`pinned_edited`) at the time of the edit:
the pinned entry stays as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridgekeeper.domain.indicators import extract
from bridgekeeper.domain.text import clean, clean_line
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services import indicators
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import DuplicateRow
from bridgekeeper.store.models import TimelineEntry


def source_key(channel: str, ts: str) -> str:
    """The pinned entry's key: a message is pinned to the timeline once."""
    return f"message:{channel}:{ts}"


def message_text(message: dict[str, Any]) -> str:
    """What the message says: Slack's `& < >` entities decoded, cleaned like all incoming text."""
    text = str(message.get("text") or "")
    return clean(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def message_author(message: dict[str, Any]) -> str:
    return clean_line(str(message.get("user") or message.get("bot_id") or "")) or "unknown"


def slack_time(ts: object) -> datetime | None:
    """A Slack timestamp ("1712345678.000100") as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(float(str(ts)), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def edit_ts(message: dict[str, Any]) -> str | None:
    """When the message was last edited (`edited.ts`), if it was and Slack says when."""
    edited = message.get("edited")
    ts = edited.get("ts") if isinstance(edited, dict) else None
    return str(ts) if ts and slack_time(ts) is not None else None


def pin_data(message: dict[str, Any]) -> dict[str, Any]:
    """What a pin records besides the text: whether, and when, the message had been edited."""
    if not isinstance(message.get("edited"), dict):
        return {}
    ts = edit_ts(message)
    moment = slack_time(ts) if ts else None
    return {"edited": True, "edited_ts": ts, "edited_at": moment.isoformat() if moment else None}


class Pins:
    """Bridge-channel messages put on the timeline (a :pushpin: or the message shortcut), and
    their edits afterwards (Slack's `message_changed` events)."""

    def __init__(self, incidents: IncidentService) -> None:
        self.incidents = incidents
        self.db = incidents.db

    async def pin(
        self, *, channel: str, ts: str, pinned_by: str, message: dict[str, Any] | None = None
    ) -> bool:
        """Add a bridge-channel message to the timeline, once, at its own time and author, as it
        reads now (saying so, and when, if it was edited before)."""
        key, said_at = source_key(channel, ts), slack_time(ts)
        if said_at is None:
            return False
        async with self.db.sessions() as session:
            incident = await incident_store.get_by_channel(session=session, channel_id=channel)
            if incident is None or incident.status != "open":
                return False
            if await incident_store.has_source_key(
                session=session, incident_id=incident.id, source_key=key
            ):
                return False
        message = message or await self.incidents.directory.message(channel, ts)
        if message is None:
            return False
        await self.incidents.access.prepare()
        try:
            async with self.db.transaction() as session:
                incident = await self.incidents.locate(
                    session, user=pinned_by, action="pin", channel=channel
                )
                if await incident_store.has_source_key(
                    session=session, incident_id=incident.id, source_key=key
                ):
                    return False
                entry = await self.incidents.record(
                    session,
                    incident=incident,
                    actor=message_author(message),
                    kind="pinned",
                    text=message_text(message),
                    data={
                        "ts": ts,
                        "channel": channel,
                        "pinned_by": pinned_by,
                        **pin_data(message),
                    },
                    at=said_at,
                    source_key=key,
                    announce=False,
                )
                await indicators.record_found(
                    session,
                    incident_id=incident.id,
                    found=extract(entry.text),
                    at=said_at,
                    source=indicators.seen_in("pin", by=entry.actor, at=said_at),
                )
        except DuplicateRow:
            return False  # the same message, pinned at the same moment by someone else
        except CommandRefused:
            return False  # closed meanwhile, or the pinner is not in the incident
        return True

    async def edited(self, *, channel: str, message: dict[str, Any], event_ts: str) -> bool:
        """Record the new text of a pinned message as its own entry; False when the message is
        not on an open incident's timeline, or the edit is no news (the same text as last
        recorded, or an edit older than one already recorded: events can come out of order)."""
        ts = str(message.get("ts") or "")
        when = edit_ts(message) or event_ts
        moment = slack_time(when)
        if not ts or moment is None or message.get("bot_id"):
            return False  # a bot's edits (the status card's, every change) are not news
        text = message_text(message)
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_channel(
                session=session, channel_id=channel, lock=True
            )
            if incident is None or incident.status != "open":
                return False
            recorded = await incident_store.entries_keyed(
                session=session, incident_id=incident.id, key=source_key(channel, ts)
            )
            if not recorded or recorded[-1].text == text or _edit_seen(recorded, float(when)):
                return False
            said_at = slack_time(ts)
            await self.incidents.record(
                session,
                incident=incident,
                actor=message_author(message),
                kind="pinned_edited",
                text=text,
                at=moment,
                source_key=f"{source_key(channel, ts)}:edited:{when}",
                data={
                    "ts": ts,
                    "channel": channel,
                    "edited_ts": when,
                    "said_at": said_at.isoformat() if said_at else None,
                },
                announce=False,
            )
        return True


def _edit_seen(recorded: list[TimelineEntry], when: float) -> bool:
    """Whether an edit made at `when` or later is already on the timeline."""
    seen = [slack_time((entry.data or {}).get("edited_ts")) for entry in recorded]
    latest = max((moment.timestamp() for moment in seen if moment), default=0.0)
    return when <= latest
