"""Delivers outbox effects: at once when woken, again after failures or a restart.

Order is kept within each incident (an effect waits for the ones before it); different
incidents are delivered concurrently. A retryable failure backs off; a permanent one, or one that
failed `max_attempts` times, is given up, logged, and noted on the incident's timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import Table, bindparam, select, update

from bridgekeeper.clock import Clock
from bridgekeeper.effects import outbox
from bridgekeeper.errors import SlackError, SlackRetryable
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect

log = logging.getLogger(__name__)
Deliver = Callable[[Effect], Awaitable[None]]
MAX_BACKOFF = 300.0


class OutboxWorker:
    def __init__(
        self,
        *,
        db: Database,
        deliver: Deliver,
        clock: Clock,
        max_attempts: int = 300,
        batch: int = 200,
        concurrency: int = 8,
        idle_poll: float = 1.0,
    ) -> None:
        self.db = db
        self.deliver = deliver
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self.idle_poll = idle_poll
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                delivered = await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed; retrying")
                delivered = 0
            if delivered:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll)

    async def deliver_due(self) -> int:
        """One pass: every due effect whose predecessors (same incident) are done."""
        queues = await self._due_queues()
        results = await asyncio.gather(*(self._deliver_queue(q) for q in queues))
        return sum(results)

    async def _due_queues(self) -> list[list[Effect]]:
        """The due effects, by group, in order. Only their ids and groups are read at first:
        in an alert storm most pending effects are card renders scheduled for later."""
        now = self.clock.now()
        async with self.db.sessions() as session:
            pending = (await session.execute(_PENDING, {"limit": self.batch})).all()
            queues: dict[str, list[int]] = {}
            blocked: set[str] = set()
            for effect_id, incident_id, key, next_attempt_at in pending:
                group = _group(effect_id, incident_id, key)
                if group in blocked:
                    continue
                if next_attempt_at > now:
                    blocked.add(group)
                    continue
                queues.setdefault(group, []).append(effect_id)
            if not queues:
                return []
            due = [effect_id for ids in queues.values() for effect_id in ids]
            loaded = await session.scalars(select(Effect).where(Effect.id.in_(due)))
            by_id = {effect.id: effect for effect in loaded}
        return [[by_id[effect_id] for effect_id in ids] for ids in queues.values()]

    async def _deliver_queue(self, queue: list[Effect]) -> int:
        delivered = 0
        async with self._limit:
            for effect in queue:
                if not await self._deliver_one(effect):
                    break
                delivered += 1
        return delivered

    async def _deliver_one(self, effect: Effect) -> bool:
        if not await self._claim(effect):
            return True  # coalesced into an earlier card refresh, or done by another pass
        try:
            await self.deliver(effect)
        except SlackRetryable as exc:
            await self._retry_later(effect, exc)
            return False
        except SlackError as exc:
            await self._give_up(effect, exc.error)
            return False
        except Exception as exc:
            log.exception("effect %s (%s) failed unexpectedly", effect.id, effect.kind)
            await self._retry_later(effect, SlackRetryable(effect.kind, type(exc).__name__))
            return False
        await self._mark_done(effect)
        return True

    async def _claim(self, effect: Effect) -> bool:
        """Count the attempt before making it, so a crash mid-delivery is known on restart."""
        attempts = await self.db.run_together(
            lambda conn: conn.scalar(_CLAIM, {"effect_id": effect.id})
        )
        if attempts is None:
            return False
        effect.attempts = attempts
        return True

    async def _mark_done(self, effect: Effect) -> None:
        now = self.clock.now()
        await self.db.run_together(lambda conn: outbox.mark_done(conn, [effect.id], now))

    async def _retry_later(self, effect: Effect, exc: SlackRetryable) -> None:
        attempts = effect.attempts
        if attempts >= self.max_attempts:
            await self._give_up(effect, f"{exc.error} (after {attempts} attempts)")
            return
        delay = max(exc.retry_after or 0.0, min(2.0**attempts, MAX_BACKOFF))
        log.warning(
            "effect %s (%s) failed: %s; attempt %s, retry in %.0fs",
            effect.id,
            effect.kind,
            exc.error,
            attempts,
            delay,
        )
        async with self.db.transaction() as session:
            row = await session.get(Effect, effect.id)
            if row is not None and row.status == "pending":
                row.last_error = exc.error
                row.next_attempt_at = self.clock.now() + timedelta(seconds=delay)

    async def _give_up(self, effect: Effect, error: str) -> None:
        log.error("effect %s (%s) given up: %s", effect.id, effect.kind, error)
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await session.get(Effect, effect.id)
            if row is None or row.status != "pending":
                return
            row.status = "failed"
            row.last_error = error
            row.done_at = now
            if row.incident_id is not None:
                incident = await incident_store.get_by_id(
                    session=session, incident_id=row.incident_id, lock=True
                )
                await incident_store.append(
                    session=session,
                    incident=incident,
                    at=now,
                    recorded_at=now,
                    actor="bridgekeeper",
                    kind="delivery_failed",
                    data={"effect_id": row.id, "effect": row.kind, "error": error},
                )


# Every delivery claims its effect (and marks it done with outbox.mark_done): built once, run in
# transactions shared by concurrent deliveries (Database.run_together).
_EFFECTS: Table = Effect.__table__  # type: ignore[assignment]
_CLAIM = (
    update(_EFFECTS)
    .where(_EFFECTS.c.id == bindparam("effect_id"), _EFFECTS.c.status == "pending")
    .values(attempts=_EFFECTS.c.attempts + 1)
    .returning(_EFFECTS.c.attempts)
)
_PENDING = (
    select(_EFFECTS.c.id, _EFFECTS.c.incident_id, _EFFECTS.c.card_key, _EFFECTS.c.next_attempt_at)
    .where(_EFFECTS.c.status == "pending")
    .order_by(_EFFECTS.c.id)
    .limit(bindparam("limit"))
)


def _group(effect_id: int, incident_id: int | None, card_key: str | None) -> str:
    """Effects of one group are delivered in order: an incident's, or one card's."""
    if incident_id is not None:
        return f"incident:{incident_id}"
    return card_key or f"effect:{effect_id}"
