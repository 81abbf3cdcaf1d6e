"""A storm's digest: past `triage_cards_per_minute` new triage cards in the last minute, new
alerts get no card of their own but a line in one digest card in the triage channel, updated in
place, with a button that lists them. When the storm passes, new alerts get their own cards
again. Which digest an alert went into is stored with it, so a restart loses nothing.

The digest is in a public channel: an alert that is part of a private incident is counted in
it, never named, in the card or in the list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridgekeeper.config import Settings
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.services.alert_cards import STORM, refresh_card, refresh_paced
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Alert

DIGEST_CARD = "digest"  # its key is "digest:<the id of its first alert>"
STORM_WINDOW = timedelta(minutes=1)
TOP = 5


@dataclass(frozen=True)
class Digest:
    """What a digest card shows."""

    digest: int
    total: int
    firing: int
    sources: list[tuple[str, int]]  # (source, alerts), most first
    top: list[Alert]  # the worst and most repeated, none of a private incident
    private: int  # how many are part of a private incident (counted, not named)


@dataclass
class _Storm:
    """The storm as one transaction sees it: read once, then counted on as it goes (a new
    card elsewhere in the transaction forgets it: services/alert_cards.py)."""

    since: datetime
    carded: int  # alerts carded since `since`
    digest: int | None = None


async def first_card(
    session: DbSession, *, settings: Settings, alert: Alert, now: datetime
) -> None:
    """A new alert's card: its own, or during a storm a line in the storm's digest."""
    storm = await _storm(session, since=now - STORM_WINDOW)
    if storm.carded < settings.alerts.triage_cards_per_minute:
        await refresh_card(session=session, alert=alert, now=now, interval=None)
        return
    if storm.digest is None:  # the storm's digest, or this alert starts one
        open_digest = await alert_store.open_digest(session=session, since=storm.since)
        storm.digest = open_digest or alert.id
    alert.digest = storm.digest
    alert.carded_at = now
    storm.carded += 1
    await refresh_digest(session, settings=settings, digest=alert.digest, now=now)


async def _storm(session: DbSession, *, since: datetime) -> _Storm:
    storm = session.info.get(STORM)
    if not isinstance(storm, _Storm) or storm.since != since:
        storm = _Storm(since, await alert_store.carded_since(session=session, since=since))
        session.info[STORM] = storm
    return storm


async def refresh_digest(
    session: DbSession, *, settings: Settings, digest: int, now: datetime
) -> None:
    """Queue the digest card's render: at once the first time, then at a pace."""
    await refresh_paced(
        session,
        now=now,
        interval=timedelta(seconds=settings.alerts.card_refresh_seconds),
        incident_id=None,
        card=DIGEST_CARD,
        owner=digest,
        target="triage",
    )


async def summary(session: DbSession, *, digest: int) -> Digest:
    members = await alert_store.in_digest(session=session, digest=digest)
    alerts = [alert for alert, _ in members]
    named = [alert for alert, private in members if not private]
    worst_first = sorted(named, key=lambda a: (Severity(a.severity).rank, -a.occurrences, a.id))
    return Digest(
        digest=digest,
        total=len(alerts),
        firing=sum(alert.status == "firing" for alert in alerts),
        sources=Counter(alert.source for alert in alerts).most_common(),
        top=worst_first[:TOP],
        private=len(alerts) - len(named),
    )


async def listing(session: DbSession, *, digest: int) -> tuple[list[Alert], int]:
    """(the digest's alerts that may be named, oldest first; how many are not)"""
    members = await alert_store.in_digest(session=session, digest=digest)
    named = [alert for alert, private in members if not private]
    return named, len(members) - len(named)
