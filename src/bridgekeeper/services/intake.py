"""Alert intake: store each alert once, count repeats, resolve, group, and queue triage cards.

Webhook requests are stored many to a transaction (group commit): on SQLite one batch at a
time, on PostgreSQL two at once, on different alerts. Each request is stored whole or not at
all, and Slack hears of it only through the outbox, after the commit. An alert storm is almost
all plain repeats (an open alert's count goes up, and its card may need its next render
queued): requests made only of those are counted together, in a few statements
(services/repeats.py). A redelivered webhook is recognised by the sender's delivery id; for
senders without one, a repeated body is one more occurrence of a firing alert, and a resolution
resolves the alert if it is firing, however often the same body came before, unless it is a
late copy of an earlier firing's resolution (it ended before this firing began, when that one
was resolved).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from bridgekeeper.clock import Clock, wait_at_most
from bridgekeeper.config import Settings
from bridgekeeper.domain.alerts import model
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.services import digest
from bridgekeeper.services.alert_cards import card_due, note_resolved, raise_severity, refresh_card
from bridgekeeper.services.alert_incidents import (
    auto_declare_rule,
    declare_for,
    join_related,
    keys_changed,
)
from bridgekeeper.services.alert_rows import (
    SOURCE_SEVERITY_MAX,
    Outcome,
    Result,
    delivery_key,
    new_row,
    stored_dedup_key,
)
from bridgekeeper.services.batching import take_ready, written_in_turn
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.repeats import BatchedAlert, count_plain
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database, DbSession, DuplicateRow
from bridgekeeper.store.models import Alert

log = logging.getLogger(__name__)
ATTEMPTS = 3  # concurrent first deliveries of one alert: the loser retries and finds the winner
BATCH_MAX = 200  # webhook requests stored in one transaction at most
LINGER = 0.002  # seconds the writer may wait for a batch as large as the last one
PIPELINE = 2  # batches written at once on PostgreSQL (on different alerts)


@dataclass
class _Delivery:
    """One webhook request's alerts, waiting for the batch that stores them."""

    alerts: list[model.Alert]
    stored: asyncio.Future[list[Outcome]]
    keys: frozenset[str]  # the alerts' dedup keys, as stored


class IntakeService:
    """Webhook requests are queued and stored many to a transaction (group commit): each
    request is answered only after the transaction holding its alerts commits. SQLite writes
    one batch at a time; PostgreSQL two, on different alerts (services/batching.py)."""

    def __init__(
        self, *, db: Database, clock: Clock, settings: Settings, incidents: IncidentService
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.incidents = incidents
        self._waiting: list[_Delivery] = []
        self._busy: Counter[str] = Counter()  # dedup keys of the batches being written
        self._writing: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()  # a request came, or a batch was written
        self._one_by_one = asyncio.Lock()  # the batches' rest, alert by alert: one at a time
        self._pipeline = 1 if db.is_sqlite else PIPELINE
        self._writer: asyncio.Task[None] | None = None
        if not settings.triage_channel:
            log.warning("no triage channel configured: alerts are stored without triage cards")

    async def receive(self, alerts: list[model.Alert]) -> list[Outcome]:
        """Store one webhook's alerts, all or nothing; return what became of each."""
        stored = asyncio.get_running_loop().create_future()
        keys = frozenset(stored_dedup_key(alert) for alert in alerts)
        delivery = _Delivery(alerts, stored, keys)
        self._waiting.append(delivery)
        self._changed.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever())
        return await asyncio.shield(delivery.stored)

    async def receive_and_tell(self, alerts: list[model.Alert]) -> list[Outcome]:
        """`receive`, as the sender is told it: an alert in a private incident does not name
        it (whoever holds the alert token is not one of its members)."""
        outcomes = await self.receive(alerts)
        numbers = {o.incident for o in outcomes if o.incident is not None}
        if not numbers:
            return outcomes
        async with self.db.sessions() as session:
            private = await incident_store.private_numbers(session=session, numbers=numbers)
        return [replace(o, incident=None) if o.incident in private else o for o in outcomes]

    async def receive_in(self, session: DbSession, alert: model.Alert) -> Outcome:
        """One alert stored within the caller's transaction (a scheduled job's), so that it
        commits, or not, with the caller's own work."""
        return await self._receive(session, alert, self.clock.now(), firing=None)

    async def close(self) -> None:
        tasks = [*self._writing, *([self._writer] if self._writer else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _write_forever(self) -> None:
        last = 1
        while True:
            await self._until(lambda: bool(self._waiting) and len(self._writing) < self._pipeline)
            if len(self._waiting) < last:
                await self._linger(last)
            async with self.db.writer_turn():  # SQLite: the batch holds what came meanwhile
                batch, self._waiting = take_ready(self._waiting, _keys, self._busy, BATCH_MAX)
                if batch and self.db.is_sqlite:
                    await written_in_turn(self._start(batch))
                elif batch:
                    self._start(batch)
            if not batch:  # each shares an alert with a batch being written
                self._changed.clear()
                await self._changed.wait()
                continue
            last = len(batch)

    async def _until(self, ready: Callable[[], bool]) -> None:
        while not ready():
            self._changed.clear()
            await self._changed.wait()

    async def _linger(self, size: int) -> None:
        """Wait a moment for a batch of `size`: under load, the senders just answered are
        sending again, and one transaction for all of them beats two."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER
        while len(self._waiting) < size and (left := deadline - loop.time()) > 0:
            self._changed.clear()
            await wait_at_most(self._changed, left)

    def _start(self, batch: list[_Delivery]) -> asyncio.Task[None]:
        keys = Counter(key for delivery in batch for key in delivery.keys)
        self._busy.update(keys)
        task = asyncio.create_task(self._write(batch))
        self._writing.add(task)
        task.add_done_callback(partial(self._written, batch, keys))
        return task

    def _written(
        self, batch: list[_Delivery], keys: Counter[str], task: asyncio.Task[None]
    ) -> None:
        self._busy -= keys
        self._writing.discard(task)
        self._changed.set()
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            log.error("alert batch failed", exc_info=failure)
            for delivery in batch:
                _settle(delivery, failure)

    async def _write(self, batch: list[_Delivery]) -> None:
        """Requests made only of plain repeats are stored (and answered) first, all together;
        then the rest, alert by alert, in one transaction."""
        try:
            counted = await self._count_plain_repeats(batch)
        except Exception:
            log.exception("counting repeats together failed; storing them one by one")
            counted = {}
        for n, outcomes in counted.items():
            _settle(batch[n], outcomes)
        rest = [delivery for n, delivery in enumerate(batch) if n not in counted]
        if rest:
            async with self._one_by_one:
                await self._write_each(rest)

    async def _write_each(self, batch: list[_Delivery]) -> None:
        try:
            outcomes = await self._store_each(batch)
        except Exception as exc:
            if len(batch) > 1:  # store the others; only the failing request gets the error
                for delivery in batch:
                    await self._write_each([delivery])
                return
            log.exception("alert delivery could not be stored")
            _settle(batch[0], exc)
            return
        for delivery, outcome in zip(batch, outcomes, strict=True):
            _settle(delivery, outcome)

    async def _store_each(self, batch: list[_Delivery]) -> list[list[Outcome]]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.db.transaction() as session:
                    now = self.clock.now()
                    firing = await self._firing(session, batch)
                    return [await self._receive_all(session, d.alerts, now, firing) for d in batch]
            except DuplicateRow:
                if attempt == ATTEMPTS:
                    raise
                log.info("concurrent delivery of the same alert; retrying (%s)", attempt)
        raise AssertionError("unreachable")

    async def _firing(self, session: DbSession, batch: list[_Delivery]) -> set[str]:
        """The batch's dedup keys an open alert has (no other batch of this process writes
        them; another replica's alert is refused by the unique index, and the batch retried)."""
        keys = {key for delivery in batch for key in delivery.keys}
        return await alert_store.firing_keys(session=session, dedup_keys=keys)

    async def _receive_all(
        self, session: DbSession, alerts: list[model.Alert], now: datetime, firing: set[str]
    ) -> list[Outcome]:
        """The event loop comes round between alerts: on SQLite a batch of new alerts, a few
        statements each, would otherwise hold it (and every ack) for tens of milliseconds."""
        outcomes = []
        for alert in alerts:
            outcomes.append(await self._receive(session, alert, now, firing))
            await self.db.give_the_loop_a_turn()
        return outcomes

    async def _count_plain_repeats(self, batch: list[_Delivery]) -> dict[int, list[Outcome]]:
        """The outcomes of the requests (by position) made only of plain repeats, counted
        together in one short transaction (services/repeats.py)."""
        items = [BatchedAlert(a, delivery_key(a), n) for n, d in enumerate(batch) for a in d.alerts]
        if not items:
            return {}
        interval = timedelta(seconds=self.settings.alerts.card_refresh_seconds)
        count = partial(count_plain, items=items, now=self.clock.now, interval=interval)
        try:
            counted, renders = await self.db.run_in_transaction(count)
        except DuplicateRow:  # another replica stored one of these deliveries meanwhile
            return {}
        if renders:
            self.db.effects_committed()
        outcomes: dict[int, list[Outcome]] = {}
        for i, outcome in sorted(counted.items()):
            outcomes.setdefault(items[i].request, []).append(outcome)
        return outcomes

    async def _receive(
        self, session: DbSession, alert: model.Alert, now: datetime, firing: set[str] | None
    ) -> Outcome:
        key = delivery_key(alert)
        seen = None if key is None else await alert_store.delivered_to(session=session, key=key)
        if seen is not None:
            previous = await alert_store.get(session=session, alert_id=seen)
            if previous is not None:
                return Outcome(previous.id, Result.DUPLICATE, previous.incident_number)
        if alert.status is model.AlertStatus.FIRING:
            outcome = await self._fire(session, alert, now, firing)
        else:
            outcome = await self._resolve(session, alert, now)
        if key is not None:
            await alert_store.record_delivery(
                session=session, key=key, alert_id=outcome.alert_id, now=now, seen=seen is not None
            )
        return outcome

    # -- firing -------------------------------------------------------------------------------
    async def _fire(
        self, session: DbSession, alert: model.Alert, now: datetime, firing: set[str] | None
    ) -> Outcome:
        """`firing`: the keys an open alert may have (None: any may); a new alert's is added."""
        key = stored_dedup_key(alert)
        repeat = None
        if firing is None or key in firing:
            repeat = await alert_store.count_repeat(session=session, dedup_key=key, now=now)
        if repeat is not None:
            if repeat.incident_number is not None:
                keys_changed(session)  # its incident was seen just now
            # Decide with the time read now that the alert row is locked: a card render that
            # ran before this repeat commits is then always older, and another is queued.
            decided_at = self.clock.now()
            if (
                repeat.severity != alert.severity.value
                or repeat.digest is not None  # the digest shows its count: paced
                or card_due(repeat.card_refresh_at, decided_at)
            ):
                await self._repeat_changes(session, repeat.id, alert, decided_at)
            return Outcome(repeat.id, Result.DUPLICATE, repeat.incident_number)
        row = new_row(alert, now)
        session.add(row)
        await session.flush()
        if firing is not None:
            firing.add(key)
        if await join_related(self.incidents, session, row=row, now=now):
            return Outcome(row.id, Result.ATTACHED, row.incident_number)
        rule = auto_declare_rule(self.settings.alerts.auto_declare, row)
        if rule is not None:
            await declare_for(self.incidents, session, row=row, rule=rule, now=now)
        await self._first_card(session, row, now)
        return Outcome(row.id, Result.NEW, row.incident_number)

    async def _repeat_changes(
        self, session: DbSession, alert_id: int, alert: model.Alert, now: datetime
    ) -> None:
        """A repeat that changes more than the count: a new severity (a rise shows on its card
        at once), or a card to refresh."""
        stored = await alert_store.get(session=session, alert_id=alert_id, lock=True)
        assert stored is not None  # just counted, under the row lock
        rose = alert.severity.rank < Severity(stored.severity).rank
        if alert.severity.value != stored.severity:
            stored.severity = alert.severity.value
            stored.source_severity = alert.source_severity[:SOURCE_SEVERITY_MAX]
            if stored.incident_id is not None:
                incident = await incident_store.get_by_id(
                    session=session, incident_id=stored.incident_id, lock=True
                )
                await raise_severity(self.incidents, session, incident=incident, alert=stored)
        await self._card(session, stored, now, urgent=rose)

    # -- resolved -----------------------------------------------------------------------------
    async def _resolve(self, session: DbSession, alert: model.Alert, now: datetime) -> Outcome:
        key = stored_dedup_key(alert)
        stored = await alert_store.get_firing(session=session, dedup_key=key, lock=True)
        if stored is None:
            earlier = await alert_store.latest_resolved(session=session, dedup_key=key)
            if earlier is not None:
                return Outcome(earlier.id, Result.DUPLICATE, earlier.incident_number)
            row = new_row(alert, now)  # resolved before we saw it fire: kept all the same
            session.add(row)
            await session.flush()
            return Outcome(row.id, Result.RESOLVED, None)
        if await alert_store.late_resolve(session=session, firing=stored, ended_at=alert.ended_at):
            log.warning("alert %s: a copy of an earlier resolve came late; it fires on", stored.id)
            return Outcome(stored.id, Result.DUPLICATE, stored.incident_number)
        stored.status = model.AlertStatus.RESOLVED.value
        stored.resolved_at = min(alert.ended_at or now, now)
        stored.last_seen = now
        if stored.incident_id is not None:
            keys_changed(session)
            await self._note_resolved(session, stored, now)
        await self._card(session, stored, now, urgent=True)
        return Outcome(stored.id, Result.RESOLVED, stored.incident_number)

    async def _note_resolved(self, session: DbSession, stored: Alert, now: datetime) -> None:
        assert stored.incident_id is not None
        incident = await incident_store.get_by_id(
            session=session, incident_id=stored.incident_id, lock=True
        )
        await note_resolved(self.incidents, session, alert=stored, incident=incident)

    # -- cards --------------------------------------------------------------------------------
    async def _first_card(self, session: DbSession, alert: Alert, now: datetime) -> None:
        """A new alert's card: its own, or a line in a storm's digest."""
        if self._wants_card(alert):
            await digest.first_card(session, settings=self.settings, alert=alert, now=now)

    async def _card(self, session: DbSession, alert: Alert, now: datetime, urgent: bool) -> None:
        if alert.digest is not None:  # a line in a storm's digest: the digest shows the change
            await digest.refresh_digest(
                session, settings=self.settings, digest=alert.digest, now=now
            )
            return
        if not self._wants_card(alert):
            return
        interval = None if urgent else timedelta(seconds=self.settings.alerts.card_refresh_seconds)
        await refresh_card(session=session, alert=alert, now=now, interval=interval)

    def _wants_card(self, alert: Alert) -> bool:
        """Alerts with a card keep it current; others get one if unattached and severe enough."""
        if alert.card_refresh_at is not None:
            return True
        threshold = self.settings.alerts.triage_threshold
        severe = Severity(alert.severity).rank <= threshold.rank
        unattached = alert.incident_id is None or alert.triage == "declared"
        return bool(self.settings.triage_channel) and unattached and severe


def _keys(delivery: _Delivery) -> frozenset[str]:
    return delivery.keys


def _settle(delivery: _Delivery, result: list[Outcome] | BaseException) -> None:
    if delivery.stored.done():
        return
    if isinstance(result, BaseException):
        delivery.stored.set_exception(result)
    else:
        delivery.stored.set_result(result)
