"""An alert storm's repeats, counted together: the intake's fast path.

A storm is almost all plain repeats: an open alert fires again, at the severity stored, and only
its count and last sighting change (and its card may need its next render queued). A batch's
plain repeats are stored in one short transaction of a few statements, whatever their number:
the open alerts read (and locked) once, every count and last sighting added in one statement,
and the deliveries of senders that name theirs remembered in one more. A byte-identical repeat
(Alertmanager, Grafana and Azure Monitor resend the same body while an alert keeps firing) is
one of these: one more occurrence, not a redelivery.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridgekeeper.domain.alerts import model
from bridgekeeper.services.alert_cards import card_due, next_render, paced
from bridgekeeper.services.alert_rows import Outcome, Result, stored_dedup_key
from bridgekeeper.services.digest import DIGEST_CARD
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import outbox
from bridgekeeper.store.db import DbConnection


@dataclass(frozen=True)
class BatchedAlert:
    """One alert of a batch, with the key of its delivery and the request it came in."""

    alert: model.Alert
    delivery_key: str | None  # None: the sender names no deliveries
    request: int  # its request's position in the batch


def count_plain(
    conn: DbConnection, items: list[BatchedAlert], now: Callable[[], datetime], interval: timedelta
) -> tuple[dict[int, Outcome], int]:
    """(Synchronous: runs inside the transaction.) The items counted, by position, and how many
    card renders that queued (a render every `interval` at most)."""
    started = now()
    named = [item.delivery_key for item in items if item.delivery_key is not None]
    skip = (alert_store.delivered_any(conn, named) if named else set()) | _repeated(named)
    open_alerts = alert_store.open_with_keys(
        conn, list({stored_dedup_key(item.alert) for item in items})
    )
    decided_at = now()  # read with the rows locked, as the one-by-one path does
    counted = plain_repeats(items, open_alerts, skip=skip)
    if not counted:
        return counted, 0
    repeats = Counter(outcome.alert_id for outcome in counted.values())
    alert_store.count_repeats(conn, repeats, started)
    deliveries = [
        (key, outcome.alert_id)
        for i, outcome in counted.items()
        if (key := items[i].delivery_key) is not None
    ]
    if deliveries:
        alert_store.record_deliveries(conn, deliveries, started)
    counted_alerts = [r for r in open_alerts.values() if r.id in repeats]
    return counted, queue_renders(conn, counted_alerts, decided_at, interval)


def queue_renders(
    conn: DbConnection, repeated: list[alert_store.Repeat], now: datetime, interval: timedelta
) -> int:
    """A render for each repeated alert whose card has none scheduled (as refresh_card does
    for a repeat), and for each storm digest whose lines repeated; how many were queued."""
    renders = renders_due(repeated, now, interval)
    if renders:
        alert_store.schedule_card_renders(conn, renders)
        outbox.insert_all(conn, [_triage_render(i, now, due) for i, due in renders.items()])
    digests = _digest_renders(conn, repeated, now, interval)
    if digests:
        outbox.insert_all(conn, digests)
    return len(renders) + len(digests)


def _digest_renders(
    conn: DbConnection, repeated: list[alert_store.Repeat], now: datetime, interval: timedelta
) -> list[dict[str, Any]]:
    """A render of each digest whose lines repeated, at its pace: none while one is due later
    (as refresh_digest does)."""
    digests = {r.digest for r in repeated if r.digest is not None}
    keys = {outbox.card_key(DIGEST_CARD, digest): digest for digest in digests}
    if not keys:
        return []
    latest = alert_store.latest_renders(conn, keys)
    return [
        outbox.card_values(
            now=now,
            incident_id=None,
            card=DIGEST_CARD,
            owner=digest,
            target="triage",
            due=next_render(latest.get(key), now, interval),
        )
        for key, digest in keys.items()
        if key not in latest or latest[key] <= now  # none due later already
    ]


def renders_due(
    repeated: Iterable[alert_store.Repeat], now: datetime, interval: timedelta
) -> dict[int, datetime]:
    """The repeated alerts whose card has no render scheduled, and when their next is due."""
    return {
        repeat.id: paced(repeat.card_refresh_at, now, interval)
        for repeat in repeated
        if repeat.card_refresh_at is not None and card_due(repeat.card_refresh_at, now)
    }


def _triage_render(alert_id: int, now: datetime, due: datetime) -> dict[str, Any]:
    return outbox.card_values(
        now=now, incident_id=None, card="triage", owner=alert_id, target="triage", due=due
    )


def plain_repeats(
    items: list[BatchedAlert], open_alerts: dict[str, alert_store.Repeat], *, skip: set[str]
) -> dict[int, Outcome]:
    """The items (by position) that only add one to an open alert's count: firing, at the
    severity stored, and not a redelivery (`skip`). (A card with no render scheduled gets one:
    `renders_due`.) Keys and requests are taken whole or not at all: the alerts of one key are
    stored in the order they came, and a request all at once."""
    by_key: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_key.setdefault(stored_dedup_key(item.alert), []).append(i)

    def is_plain(key: str) -> bool:
        repeat = open_alerts.get(key)
        if repeat is None:
            return False
        return all(_plain(items[i], repeat, skip) for i in by_key[key])

    plain = {key for key in by_key if is_plain(key)}
    while True:  # a key left out leaves its requests out, and theirs keys with them
        left = {
            items[i].request
            for key, positions in by_key.items()
            if key not in plain
            for i in positions
        }
        kept = {key for key in plain if all(items[i].request not in left for i in by_key[key])}
        if kept == plain:
            break
        plain = kept
    return {
        i: Outcome(open_alerts[key].id, Result.DUPLICATE, open_alerts[key].incident_number)
        for key in plain
        for i in by_key[key]
    }


def _plain(item: BatchedAlert, repeat: alert_store.Repeat, skip: set[str]) -> bool:
    alert = item.alert
    return (
        alert.status is model.AlertStatus.FIRING
        and alert.severity.value == repeat.severity
        and item.delivery_key not in skip
    )


def _repeated(keys: Iterable[str]) -> set[str]:
    counts = Counter(keys)
    return {key for key, n in counts.items() if n > 1}
