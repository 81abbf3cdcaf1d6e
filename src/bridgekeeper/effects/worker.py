"""Delivers outbox effects: lane by lane, many lanes at once, again after failures or a restart.

Effects of one lane (a channel, or one card: store/outbox.py) go out in order; lanes are
independent, served most urgent first (store/lanes.py), each by one task at a time. A lane
whose delivery fails backs off on its own; once its attempts run out (or at once when Slack says
its channel is gone) the lane's effects are parked, noted on the incident's timeline, and wait
for an operator (`bridgekeeper outbox list|retry`); an effect Slack refuses for another reason is
parked alone. Several messages waiting for one
channel (a burst of notes) are folded into one (effects/folding.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from bridgekeeper import logs
from bridgekeeper.clock import Clock, wait_at_most
from bridgekeeper.domain.effects import Post
from bridgekeeper.effects.folding import fold, unfolded
from bridgekeeper.errors import SlackError, SlackRetryable
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import lanes, outbox
from bridgekeeper.store.db import Database, DbConnection, DbSession
from bridgekeeper.store.models import Effect, TimelineEntry

log = logging.getLogger(__name__)
Deliver = Callable[[Effect], Awaitable[None]]
T = TypeVar("T")
MAX_BACKOFF = 300.0
TAKEN, GONE, WAITING = "taken", "gone", "waiting"  # what claiming an effect found
# Errors that mean the lane's channel cannot take anything: the rest of the lane is parked too.
CHANNEL_GONE = {"channel_not_found", "is_archived", "not_in_channel", "channel_is_archived"}


class OutboxWorker:
    def __init__(
        self,
        *,
        db: Database,
        deliver: Deliver,
        clock: Clock,
        holder: str = "bridgekeeper",
        max_attempts: int = 300,
        per_lane: int = 20,
        concurrency: int = 32,
        idle_poll: float = 1.0,
        claim_seconds: float = 15.0,
        min_pass: float = 0.05,
        told: Callable[[TimelineEntry], str] | None = None,
    ) -> None:
        self.db = db
        self.deliver = deliver
        self.clock = clock
        self.holder = holder
        self.max_attempts = max_attempts
        self.per_lane = per_lane
        self.concurrency = concurrency
        self.idle_poll = idle_poll
        self.claim_seconds = claim_seconds
        self.min_pass = min_pass
        self.told = told  # a timeline entry as the bridge channel is told it
        self._active: dict[str, asyncio.Task[int]] = {}
        self._renewed = 0.0
        self._stop: asyncio.Event | None = None  # run()'s: once set, lanes are handed over
        self._wake = asyncio.Event()
        self.last_tick: float | None = None  # loop.time() of the latest pass (readiness)

    def wake(self) -> None:
        self._wake.set()

    @property
    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    @property
    def delivering(self) -> int:
        """Lanes this process is delivering now."""
        return len(self._active)

    async def run(self, stop: asyncio.Event) -> None:
        """Start lanes as work comes due (woken by commits and by lanes finishing)."""
        loop = asyncio.get_running_loop()
        self._stop = stop
        try:
            while not stop.is_set():
                self._wake.clear()
                started = self.last_tick = loop.time()
                await self._pass()
                await wait_at_most(self._wake, self.idle_poll)
                # Commits wake the worker: in a burst, the wake-ups of one moment make one pass.
                # A stop ends the pause (a process stopping waits for no pass it will not make).
                await wait_at_most(stop, max(0.0, started + self.min_pass - loop.time()))
            await self._finish()
        finally:
            self._stop = None  # `deliver_due` afterwards delivers whole lanes again

    async def _finish(self) -> None:
        """Let the effects being delivered finish, renewing their lanes' claims meanwhile: a
        claim run out would let another process (a new deploy's) deliver the same message
        again. Each lane is then let go with the rest of its effects, for another process (or
        this one's next start) to deliver: a stop does not wait for a backlog to go out at
        Slack's pace."""
        while self._active:
            try:
                await self.db.run_together(partial(self._renew, list(self._active)))
            except Exception as exc:  # the next round tries again
                log.warning("could not renew the claims of lanes still delivering: %s", exc)
            if still := list(self._active.values()):  # those left after the renewal
                await asyncio.wait(still, timeout=self.claim_seconds / 3)

    def _renew(self, names: list[str], conn: DbConnection) -> None:
        lanes.renew(
            conn, lanes=names, holder=self.holder, now=self.clock.now(), ttl=self.claim_seconds
        )
        self._renewed = time.monotonic()

    async def _pass(self) -> None:
        try:
            await self.start_due()
        except Exception:
            log.exception("outbox pass failed; retrying")

    async def deliver_due(self) -> int:
        """Deliver every lane due now and wait for them: how many effects went out."""
        started = await self.start_due()
        return sum(await asyncio.gather(*started))

    async def start_due(self) -> list[asyncio.Task[int]]:
        """Claim the most urgent due lanes that no task of this process is delivering, and
        start one task for each, up to `concurrency` at once. The claims of lanes being
        delivered are renewed on the way (a claim runs out only when its process is gone)."""
        now = self.clock.now()
        busy = list(self._active)
        free = max(self.concurrency - len(busy), 0)
        read = partial(lanes.due_lanes, now=now, per_lane=self.per_lane, limit=free, busy=busy)
        due = await self._read(read) if free else []
        # the lanes being delivered are not read (what a read would see of them is stale: an
        # effect just rescheduled looks due); nor started, if one began during the read
        wanted = [lane for lane in due if lane.name not in self._active]
        renew = busy if self._renewed + self.claim_seconds / 3 < time.monotonic() else []
        if not wanted and not renew:
            return []
        names, ttl = [lane.name for lane in wanted], self.claim_seconds

        def claim(conn: DbConnection) -> set[str]:
            if renew:
                self._renew(renew, conn)
            return lanes.claim(conn, lanes=names, holder=self.holder, now=now, ttl=ttl)

        held = await self.db.run_together(claim)
        started = []
        for lane in wanted:
            if lane.name in held and lane.name not in self._active:
                task = asyncio.create_task(self._deliver_lane(lane))
                task.add_done_callback(partial(logs.log_failure, log, "delivering a lane failed"))
                self._active[lane.name] = task
                started.append(task)
        return started

    async def _deliver_lane(self, lane: lanes.DueLane) -> int:
        """Deliver the lane's effects in order, batch after batch, until none is due or one
        fails; then let the lane go. The effects delivered are marked done in the transaction
        that counts the next one's attempt, or that reads the lane's next effects and, when
        there are none, lets the lane go."""
        delivered, effect_ids = 0, lane.effect_ids
        try:
            while effect_ids:
                effects = await self._load(effect_ids)
                count, done = await self._deliver_in_order(effects)
                delivered += count
                if done is None:
                    break
                if self._stopping:
                    await self.db.run_together(partial(self._hand_over, lane.name, done))
                    effect_ids = []
                    break
                effect_ids = await self.db.run_together(partial(self._next, lane.name, done))
            return delivered
        finally:
            if effect_ids:  # stopped early (none left: `_next` let the lane go)
                try:
                    await self.db.run_together(partial(self._release, lane.name))
                except Exception as exc:  # the claim runs out on its own
                    log.warning("could not let lane %s go: %s", lane.name, exc)
            del self._active[lane.name]
            self.wake()

    def _next(self, lane: str, done: list[int], conn: DbConnection) -> list[int]:
        """Mark `done` done and read the lane's next effects due; none: let the lane go."""
        now = self.clock.now()
        if done:
            outbox.mark_done(conn, done, now)
        following = lanes.next_in_lane(conn, lane=lane, now=now, limit=self.per_lane)
        if not following:
            self._release(lane, conn)
        return following

    def _hand_over(self, lane: str, done: list[int], conn: DbConnection) -> None:
        """Mark `done` done and let the lane go with its effects still to deliver."""
        if done:
            outbox.mark_done(conn, done, self.clock.now())
        self._release(lane, conn)

    def _release(self, lane: str, conn: DbConnection) -> None:
        lanes.release(conn, lanes=[lane], holder=self.holder)

    async def _read(self, work: Callable[[DbConnection], T]) -> T:
        """Run reading statements on a reading session (off the event loop on SQLite)."""
        async with self.db.sessions() as session:
            conn = await session.connection()
            return await conn.run_sync(work)

    async def _load(self, effect_ids: list[int]) -> list[Effect]:
        async with self.db.sessions() as session:
            return await outbox.load(session, effect_ids)

    async def _deliver_in_order(self, effects: list[Effect]) -> tuple[int, list[int] | None]:
        """(effects delivered, those of them not marked done yet, or None if the lane may not
        go on)."""
        delivered, done = 0, list[int]()
        while effects and not self._stopping:
            effect, folded, effects = fold(effects)
            claimed = await self._claim(effect, folded, done)
            done = []  # marked done with the claim
            if claimed == WAITING:
                return delivered, None
            if claimed == GONE:
                continue
            went_out = await self._deliver_one(effect, folded=bool(folded))
            if went_out is None:
                return delivered, None
            if went_out:
                done = [effect.id, *(other.id for other in folded)]
                delivered += 1 + len(folded)
            elif folded:  # Slack refused them together: each goes out on its own, in order
                effects = [
                    *unfolded(await self._load([effect.id, *(o.id for o in folded)])),
                    *effects,
                ]
        return delivered, done

    async def _deliver_one(self, effect: Effect, *, folded: bool) -> bool | None:
        """Deliver one effect (carrying the messages folded into it): whether it went out,
        None if the lane must stop. One Slack refuses is parked, unless messages were folded
        into it: any of them could be the cause, so each is tried alone (they were read again
        as stored, and counted as tried: none is folded again)."""
        logs.bind(incident_id=effect.incident_id, effect_id=effect.id)
        try:
            await self.deliver(effect)
        except SlackRetryable as exc:
            await self._retry_later(effect, exc)
            return None
        except SlackError as exc:
            if exc.error in CHANNEL_GONE or not folded:
                await self._park(effect, exc.error)
            return None if exc.error in CHANNEL_GONE else False
        except Exception as exc:
            log.exception("effect %s (%s) failed unexpectedly", effect.id, effect.kind)
            await self._retry_later(effect, SlackRetryable(effect.kind, type(exc).__name__))
            return None
        return True

    async def _claim(self, effect: Effect, folded: list[Effect], done: list[int]) -> str:
        """Count the attempt before making it, so a crash mid-delivery is known on restart (in
        the transaction that marks the effects delivered before it done): TAKEN; GONE if it is
        no longer pending (coalesced into an earlier card refresh, or delivered by another
        pass); WAITING if it is not due (another replica put off its retry: the lane stops)."""
        folded_ids = [other.id for other in folded]
        now = self.clock.now()

        def claim(conn: DbConnection) -> int | str:
            if done:
                outbox.mark_done(conn, done, now)
            attempts = outbox.count_attempt(conn, effect.id, now)
            if attempts is None:
                return WAITING if outbox.waiting(conn, effect.id) else GONE
            if folded_ids:
                outbox.count_attempts(conn, folded_ids)
            return attempts

        claimed = await self.db.run_together(claim)
        if isinstance(claimed, str):
            return claimed
        effect.attempts = claimed
        return TAKEN

    async def _retry_later(self, effect: Effect, exc: SlackRetryable) -> None:
        attempts = effect.attempts
        if attempts >= self.max_attempts:
            await self._park(effect, f"{exc.error} (after {attempts} attempts)", whole_lane=True)
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

    async def _park(self, effect: Effect, error: str, *, whole_lane: bool = False) -> None:
        """Set the effect aside for an operator, with the rest of its lane when its channel is
        gone or kept failing; say so on the timeline of each incident whose message it was."""
        log.error("effect %s (%s) parked: %s", effect.id, effect.kind, error)
        now = self.clock.now()
        whole_lane = whole_lane or error in CHANNEL_GONE
        async with self.db.transaction() as session:
            parked = await outbox.park(
                session, effect_id=effect.id, error=error, now=now, whole_lane=whole_lane
            )
            for incident_id in sorted(i for i in parked if i is not None):  # locked in order
                await self._note_parked(
                    session, effect, error, incident_id, parked[incident_id], now
                )

    async def _note_parked(
        self,
        session: DbSession,
        effect: Effect,
        error: str,
        incident_id: int,
        count: int,
        now: datetime,
    ) -> None:
        """On the incident's timeline, and in its bridge channel unless that is where delivery
        failed (a stakeholder channel archived, PagerDuty refusing): the people running it
        learn their message did not get through."""
        incident = await incident_store.get_by_id(
            session=session, incident_id=incident_id, lock=True
        )
        entry = await incident_store.append(
            session=session,
            incident=incident,
            at=now,
            recorded_at=now,
            actor="bridgekeeper",
            kind="delivery_failed",
            data={
                "effect_id": effect.id,
                "effect": effect.kind,
                "error": error,
                "parked": count,
                "target": effect.payload.get("target"),
                "lane": effect.lane,
            },
        )
        if self.told is not None and effect.lane != f"bridge:{incident_id}":
            text = self.told(entry)
            outbox.enqueue(
                session, Post(target="bridge", text=text), now=now, incident_id=incident_id
            )
