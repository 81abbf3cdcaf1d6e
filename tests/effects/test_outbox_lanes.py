"""Outbox delivery lane by lane: a channel that keeps failing holds up nobody else and is parked
for an operator; a burst of notes is folded into few messages, every note kept, in order; the
most urgent lanes go first."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.clock import SystemClock
from bridgekeeper.domain.effects import CreateChannel, Post
from bridgekeeper.effects.folding import fold
from bridgekeeper.effects.worker import OutboxWorker
from bridgekeeper.errors import SlackRetryable
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.store import lanes, outbox
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect, OutboxLane, TimelineEntry
from tests.command_line import Done, run_bridgekeeper_beside
from tests.conftest import Running, bridgekeepers
from tests.helpers import add_incident
from tests.sqlite_steps import counted


async def until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def bridge(slack: SlackEmulator, number: int) -> Channel | None:
    found = [c for c in slack.channels.values() if c.name.startswith(f"inc-{number}-")]
    return found[0] if found else None


def texts(slack: SlackEmulator, channel: Channel) -> str:
    return json.dumps([m.blocks for m in slack.messages(channel.id)])


async def effects(app: Running, status: str) -> list[Effect]:
    async with app.bk.db.sessions() as session:
        found = await session.scalars(select(Effect).where(Effect.status == status))
        return list(found)


async def stuck_notes(app: Running) -> Counter[str]:
    """How many of the "stuck note" messages are in each state (pending, parked, done)."""
    async with app.bk.db.sessions() as session:
        found = await session.scalars(select(Effect).where(Effect.kind == "post"))
        return Counter(e.status for e in found if "stuck note" in str(e.payload.get("text")))


async def run_cli(database_url: str, *args: str) -> Done:
    env = {**os.environ, "DATABASE_URL": database_url}
    return await run_bridgekeeper_beside("outbox", *args, env=env)


@pytest.mark.slow(6)
async def test_a_failing_bridge_channel_holds_up_no_other_incident_and_is_parked(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with bridgekeepers(db_url, emulator) as start:
        app = await start(outbox_max_attempts=2)
        await app.command("declare Flaky channel sev3")
        await until(lambda: (b := bridge(emulator, 1)) is not None and b.pins)
        flaky = bridge(emulator, 1)
        assert flaky is not None
        emulator.fail("chat.postMessage", status=500, times=100_000, channel=flaky.id)
        for n in range(30):
            assert (await app.command(f"note stuck note {n}", channel=flaky.id)).status == 200

        await app.command("declare Database down sev1")
        await until(lambda: (b := bridge(emulator, 2)) is not None and b.pins)
        urgent = bridge(emulator, 2)
        assert urgent is not None and "Database down" in texts(emulator, urgent)
        assert "stuck note" not in texts(emulator, flaky)
        # Each note is recorded after its command is answered: wait for the thirty to queue.
        deadline = time.monotonic() + 20
        while sum((await stuck_notes(app)).values()) < 30:
            assert time.monotonic() < deadline, "the notes were not all queued"
            await asyncio.sleep(0.05)

        # Its attempts run out: the whole lane is parked, and the timeline says so. (A note
        # queued after its lane was parked is tried on its own, and parked in its turn.)
        deadline = time.monotonic() + 30
        while (stuck := await stuck_notes(app)) != {"parked": 30}:
            assert time.monotonic() < deadline, f"not all parked: {stuck}"
            await asyncio.sleep(0.1)
        parked = await effects(app, "parked")
        assert {e.lane for e in parked} == {f"bridge:{parked[0].incident_id}"}
        assert not [e for e in await effects(app, "pending") if e.lane == parked[0].lane]

        listed = await run_cli(db_url, "list")
        assert listed.returncode == 0, listed.stderr
        assert f"lane {parked[0].lane}: {len(parked)}" in listed.stdout
        assert "internal_error" in listed.stdout

        # Slack takes the channel again; the operator puts the lane back: every note arrives.
        emulator.faults.fail_rules.clear()
        retried = await run_cli(db_url, "retry", "--lane", parked[0].lane)
        assert retried.returncode == 0 and f"{len(parked)} parked deliveries" in retried.stdout
        app.bk.worker.wake()
        await until(lambda: all(f"stuck note {n}" in texts(emulator, flaky) for n in range(30)))
        async with app.bk.db.sessions() as session:
            noted = await session.scalars(
                select(TimelineEntry.data).where(TimelineEntry.kind == "delivery_failed")
            )
            counts = [data["parked"] for data in noted]
        assert sum(counts) == len(parked) and max(counts) > 1  # parked lane by lane, not one by one


async def test_retry_without_naming_anything_is_refused(db_url: str) -> None:
    refused = await run_cli(db_url, "retry")
    assert refused.returncode == 2
    assert "--lane LANE, or --all" in refused.stderr
    both = await run_cli(db_url, "retry", "3", "--all")  # it retried delivery 3 alone
    assert both.returncode == 2 and "in one way" in both.stderr
    listed = await run_cli(db_url, "list")
    assert listed.returncode == 0 and "Parked: none" in listed.stdout


async def test_a_burst_of_notes_is_folded_into_few_messages_in_order(running: Running) -> None:
    await running.command("declare Busy bridge sev2")
    await until(lambda: (b := bridge(running.slack, 1)) is not None and b.pins)
    channel = bridge(running.slack, 1)
    assert channel is not None
    before = len(running.slack.messages(channel.id))
    replies = await asyncio.gather(
        *(running.command(f"note burst {n:02d}", channel=channel.id) for n in range(40))
    )
    assert all(reply.status == 200 for reply in replies)
    await running.settle(timeout=30)

    posted = running.slack.messages(channel.id)[before:]
    shown = texts(running.slack, channel)
    assert all(f"burst {n:02d}" in shown for n in range(40))
    notes = [m for m in posted if "burst" in json.dumps(m.blocks)]
    assert len(notes) < 40  # folded: Slack takes about one message a second per channel
    order = [json.dumps(m.blocks) for m in notes]
    positions = [
        next(i for i, text in enumerate(order) if f"burst {n:02d}" in text) for n in range(40)
    ]
    recorded = await recorded_order(running)
    assert [positions[n] for n in recorded] == sorted(positions[n] for n in recorded)


async def test_notes_folded_into_a_message_slack_refused_go_out_alone_in_order(
    running: Running,
) -> None:
    """Slack refuses a message notes were folded into (any one of them could be why): each is
    tried on its own, in the timeline's order, before what came after them."""
    channel = await refusing_posts(running, times=1)
    for n in range(2, 8):
        await running.command(f"note burst {n:02d}", channel=channel.id)
    await running.command("severity sev1 it spread to billing", channel=channel.id)
    for n in range(8, 11):
        await running.command(f"note burst {n:02d}", channel=channel.id)
    await running.settle(timeout=30)

    [refused] = [c for c in running.slack.calls if c.error == "invalid_blocks"]
    later = running.slack.calls[running.slack.calls.index(refused) :]
    assert "conversations.history" not in {c.method for c in later}  # none was posted: no lookup
    together = [f"burst {n:02d}" for n in range(2, 11) if f"burst {n:02d}" in str(refused.args)]
    assert len(together) > 1  # notes were folded into the message refused
    shown = [json.dumps(m.blocks) for m in running.slack.messages(channel.id)]
    for note in together:
        [alone] = [m for m in shown if note in m]
        assert sum(other in alone for other in together) == 1
    everything = "".join(shown)
    timeline = await entries_shown(running)
    assert len(timeline) == 11
    assert [everything.index(t) for t in timeline] == sorted(everything.index(t) for t in timeline)


async def test_a_note_slack_refuses_on_its_own_after_a_refused_fold_is_parked_alone(
    running: Running,
) -> None:
    """Slack refuses the folded message, then the first of its notes on its own too: that note
    is parked, for an operator to see and put back, and said on the timeline; the notes after
    it still go out, alone, in order."""
    channel = await refusing_posts(running, times=2)
    for n in range(2, 8):
        await running.command(f"note burst {n:02d}", channel=channel.id)
    await running.settle(timeout=30)

    folded, alone = [c for c in running.slack.calls if c.error == "invalid_blocks"]
    assert sum(f"burst {n:02d}" in str(folded.args) for n in range(2, 8)) > 1
    [refused] = [f"burst {n:02d}" for n in range(2, 8) if f"burst {n:02d}" in str(alone.args)]
    shown = texts(running.slack, channel)
    went_out = [note for note in await entries_shown(running) if note != refused]  # in order
    assert len(went_out) == 6 and refused not in shown
    assert all(shown.count(note) == 1 for note in went_out)
    assert [shown.index(note) for note in went_out] == sorted(shown.index(n) for n in went_out)
    [parked] = await effects(running, "parked")
    assert parked.last_error == "invalid_blocks" and refused in json.dumps(parked.payload)
    listed = await run_cli(running.bk.settings.database_url, "list")
    assert f"lane {parked.lane}: 1" in listed.stdout and "invalid_blocks" in listed.stdout
    async with running.bk.db.sessions() as session:
        said = await session.scalars(
            select(TimelineEntry.data).where(TimelineEntry.kind == "delivery_failed")
        )
        assert [(d["effect_id"], d["parked"]) for d in said] == [(parked.id, 1)]


async def refusing_posts(running: Running, *, times: int) -> Channel:
    """Incident 1's bridge channel, once "burst 01" is in it, its next post answered late (so
    the notes after it pile up and are folded) and the `times` posts after that refused."""
    await running.command("declare Refused fold sev2")
    await until(lambda: (b := bridge(running.slack, 1)) is not None and b.pins)
    channel = bridge(running.slack, 1)
    assert channel is not None
    running.slack.delay("chat.postMessage", 2.0)  # the next post answers late: notes pile up
    await running.command("note burst 01", channel=channel.id)
    await until(lambda: "burst 01" in texts(running.slack, channel))
    running.slack.fail("chat.postMessage", error="invalid_blocks", times=times, channel=channel.id)
    return channel


async def entries_shown(running: Running) -> list[str]:
    """The notes' and the severity change's words, in the order the timeline recorded them."""
    async with running.bk.db.sessions() as session:
        found = await session.scalars(select(TimelineEntry.text).order_by(TimelineEntry.seq))
    words = [text.removeprefix("burst ") for text in found]
    return [f"burst {w}" if w.isdigit() else w for w in words if w.isdigit() or "billing" in w]


async def recorded_order(running: Running) -> list[int]:
    """The notes' numbers in the order the timeline recorded them."""
    async with running.bk.db.sessions() as session:
        found = await session.scalars(
            select(TimelineEntry.text)
            .where(TimelineEntry.kind == "note")
            .order_by(TimelineEntry.id)
        )
        return [int(text.split()[-1]) for text in found]


async def test_a_sev1_declaration_is_served_first_and_its_announcement_waits_for_its_channel(
    db_url: str,
) -> None:
    now = SystemClock().now()
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            ids = {
                sev: await add_incident(session, number, sev)
                for number, sev in ((901, "sev4"), (902, "sev1"))
            }
            for n in range(5):
                outbox.enqueue(
                    session,
                    Post(target="bridge", text=f"backlog {n}"),
                    now=now,
                    incident_id=ids["sev4"],
                )
            outbox.enqueue(session, Post(target="triage", text="a triage note"), now=now)
            outbox.enqueue(session, CreateChannel(), now=now, incident_id=ids["sev1"])
            outbox.enqueue(
                session,
                Post(target="stakeholders", text="names the channel"),
                now=now,
                incident_id=ids["sev1"],
            )
            outbox.enqueue(
                session, Post(target="triage", text="later"), now=now + timedelta(minutes=5)
            )
        due = await db.run_together(
            lambda conn: lanes.due_lanes(conn, now=now, per_lane=20, limit=10)
        )
    finally:
        await db.dispose()
    assert [lane.name for lane in due] == [
        f"bridge:{ids['sev1']}",
        "channel:triage",
        f"bridge:{ids['sev4']}",
    ]
    # not due: the stakeholders' message waits for the SEV1's channel, and the triage message
    # scheduled for later holds back nothing
    assert len(due[1].effect_ids) == 1
    assert len(due[2].effect_ids) == 5


async def test_what_waits_behind_a_failing_lane_is_not_read_again_on_every_pass(
    db_url: str,
) -> None:
    """Each pass of the outbox reads each lane's first effect, and reads on only where that one
    is due: 2,000 messages behind a failing channel's retry cost a pass no more than 20 do.
    Lanes being delivered are left out."""
    few, many = await measured_with_a_backlog(db_url, lambda now: pass_steps(db_url, now))
    # the failing lane waits; the triage message and the card go
    assert many[1] == few[1] == ["card:triage:7", "channel:triage"]
    assert many[0] < few[0] * 1.5, (few, many)
    _, busy = await pass_steps(db_url, SystemClock().now(), busy=["channel:triage"])
    assert busy == ["card:triage:7"]


async def test_a_card_s_renders_are_found_without_reading_the_other_lanes_backlog(
    db_url: str,
) -> None:
    """Delivering a card, the outbox takes every render of it due (one delivery covers them):
    found by the card, whatever waits in other lanes."""
    few, many = await measured_with_a_backlog(db_url, lambda now: render_steps(db_url, now))
    assert len(few[1]) == len(many[1]) == 2
    assert many[0] < few[0] * 1.5, (few, many)


Steps = tuple[int, list[Any]]  # what was found, and the steps SQLite's virtual machine took


async def measured_with_a_backlog(
    db_url: str, measure: Callable[[datetime], Awaitable[Steps]]
) -> tuple[Steps, Steps]:
    """`measure` with 20 messages behind a failing bridge channel's retry, then with 2,000
    (beside them: a triage message due, and two renders of a triage card due)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("counts the steps of SQLite's virtual machine")
    now = SystemClock().now()
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            failing = await add_incident(session, 903, "sev2")
            outbox.enqueue(
                session, Post(target="bridge", text="failed"), now=now, incident_id=failing
            )
            await session.execute(  # tried 3 times, waiting out its retry
                update(Effect)
                .where(Effect.incident_id == failing)
                .values(attempts=3, next_attempt_at=now + timedelta(minutes=1))
            )
            outbox.enqueue(session, Post(target="triage", text="due"), now=now)
            for _ in range(2):
                outbox.add_card(
                    session=session, now=now, incident_id=None, card="triage", owner=7, target="t"
                )
        await queue_behind(db, failing, 20, now)
        few = await measure(now)
        await queue_behind(db, failing, 1980, now)
        many = await measure(now)
    finally:
        await db.dispose()
    return few, many


async def queue_behind(db: Database, incident_id: int, count: int, now: datetime) -> None:
    async with db.transaction() as session:
        for n in range(count):
            outbox.enqueue(
                session, Post(target="bridge", text=f"behind {n}"), now=now, incident_id=incident_id
            )


async def render_steps(db_url: str, now: datetime) -> Steps:
    """The triage card 7's renders due."""
    key = outbox.card_key("triage", 7)
    return await counted(db_url, lambda session: outbox.due_renders(session, key=key, now=now))


async def pass_steps(db_url: str, now: datetime, busy: Sequence[str] = ()) -> Steps:
    """The lanes an outbox pass finds due."""

    async def due(session: AsyncSession) -> list[str]:
        conn = await session.connection()
        found = await conn.run_sync(
            lambda sync: lanes.due_lanes(sync, now=now, per_lane=20, limit=10, busy=busy)
        )
        return [lane.name for lane in found]

    return await counted(db_url, due)


def test_folding_passes_over_card_refreshes_and_keeps_them_in_order() -> None:
    def post(i: int, text: str) -> Effect:
        return Effect(
            id=i, kind="post", attempts=0, payload={"target": "bridge", "text": text, "fold": True}
        )

    def card(i: int) -> Effect:
        return Effect(id=i, kind="card", attempts=0, payload={"key": "status:1"})

    topic = Effect(id=6, kind="topic", attempts=0, payload={})
    effects = [
        post(1, "one"),
        card(2),
        post(3, "two"),
        card(4),
        post(5, "three"),
        topic,
        post(7, "x"),
    ]
    first, folded, rest = fold(effects)
    assert first.id == 1 and first.payload["text"] == "one\ntwo\nthree"
    assert [e.id for e in folded] == [3, 5]
    assert [e.id for e in rest] == [2, 4, 6, 7]  # the topic stops the folding

    retried = post(8, "tried before")
    retried.attempts = 1
    first, folded, rest = fold([retried, post(9, "new")])
    assert first.id == 8 and not folded and [e.id for e in rest] == [9]


async def test_a_lane_let_go_is_delivered_by_another_replica_at_once(db_url: str) -> None:
    """Replicas deliver different lanes; a lane one has finished with is the other's to take
    straight away, not once the first one's claim has run out."""
    db = Database(db_url)
    delivered: list[tuple[str, int]] = []

    def worker(name: str) -> OutboxWorker:
        async def deliver(effect: Effect) -> None:
            delivered.append((name, effect.id))

        return OutboxWorker(db=db, deliver=deliver, clock=SystemClock(), holder=name)

    async def post(text: str) -> None:
        async with db.transaction() as session:
            outbox.enqueue(session, Post(target="CSHARED", text=text), now=SystemClock().now())

    first, second = worker("replica-1"), worker("replica-2")
    try:
        await post("one")
        assert await first.deliver_due() == 1
        await post("two")
        assert await second.deliver_due() == 1  # the first replica's claim was let go
        assert [name for name, _ in delivered] == ["replica-1", "replica-2"]
    finally:
        await db.dispose()


async def slowed_reads(worker: OutboxWorker, until: asyncio.Event) -> None:
    """The worker's next reads of the due lanes finish only once `until` is set: a pass that
    began before something else happened, and acts on what it read after it."""
    read = worker._read

    async def read_then_wait(work: Callable[[Any], Any]) -> Any:
        found = await read(work)
        await until.wait()
        return found

    worker._read = read_then_wait  # type: ignore[method-assign]


async def test_a_retry_put_off_by_one_replica_is_not_made_early_by_another(db_url: str) -> None:
    """The second replica read the lane as due; the first then tried, was told to wait 60 s
    (Retry-After) and let the lane go: the second finds the effect not due and leaves it."""
    db = Database(db_url)
    calls: list[str] = []
    backed_off = asyncio.Event()

    async def ratelimited(effect: Effect) -> None:
        calls.append("replica-1")
        raise SlackRetryable("chat.postMessage", "ratelimited", retry_after=60)

    async def delivered(effect: Effect) -> None:
        calls.append("replica-2")

    first = OutboxWorker(db=db, deliver=ratelimited, clock=SystemClock(), holder="replica-1")
    second = OutboxWorker(db=db, deliver=delivered, clock=SystemClock(), holder="replica-2")
    async with db.transaction() as session:
        outbox.enqueue(session, Post(target="CSHARED", text="x"), now=SystemClock().now())
    try:
        await slowed_reads(second, backed_off)
        late = asyncio.create_task(second.deliver_due())
        await first.deliver_due()
        backed_off.set()
        assert await late == 0
        assert calls == ["replica-1"]
        [effect] = await effects_of(db, "pending")
        assert effect.attempts == 1 and effect.last_error == "ratelimited"
    finally:
        await db.dispose()


async def test_renewing_claims_takes_back_no_lane_let_go_meanwhile(db_url: str) -> None:
    """A pass renews the claims of the lanes being delivered; one of them finishes and is let
    go during the pass: it stays free for another replica."""
    db = Database(db_url)
    answered, finished = asyncio.Event(), asyncio.Event()

    async def slow(effect: Effect) -> None:
        await answered.wait()

    async def fast(effect: Effect) -> None:
        pass

    first = OutboxWorker(db=db, deliver=slow, clock=SystemClock(), holder="replica-1")
    second = OutboxWorker(db=db, deliver=fast, clock=SystemClock(), holder="replica-2")

    async def post(text: str) -> None:
        async with db.transaction() as session:
            outbox.enqueue(session, Post(target="CSHARED", text=text), now=SystemClock().now())

    try:
        await post("one")
        [delivering] = await first.start_due()
        delivering.add_done_callback(lambda _: finished.set())
        await slowed_reads(first, finished)
        passing = asyncio.create_task(first.start_due())  # its renewal is due
        answered.set()
        assert await delivering == 1
        await passing
        await post("two")
        assert await second.deliver_due() == 1  # not held by the first for 15 s
    finally:
        await db.dispose()


async def test_a_stopping_process_keeps_its_claims_while_its_lanes_finish(db_url: str) -> None:
    """Told to stop (a deploy's SIGTERM) while a Slack call is under way, the worker lets the
    lane finish and renews its claim meanwhile: a new process cannot take the lane over and
    deliver the same message again."""
    db = Database(db_url)
    delivered: list[tuple[str, int]] = []
    answered = asyncio.Event()

    async def slow(effect: Effect) -> None:
        delivered.append(("stopping", effect.id))
        await answered.wait()

    async def fast(effect: Effect) -> None:
        delivered.append(("new", effect.id))

    first = OutboxWorker(  # its claims renewed every 0.3 s
        db=db, deliver=slow, clock=SystemClock(), holder="stopping", claim_seconds=0.9,
        idle_poll=0.1,
    )  # fmt: skip
    second = OutboxWorker(db=db, deliver=fast, clock=SystemClock(), holder="new")
    async with db.transaction() as session:
        outbox.enqueue(session, Post(target="CSHARED", text="one"), now=SystemClock().now())
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    try:
        await until(lambda: delivered)
        first_claim = await lane_claim(db, "stopping")
        assert first_claim is not None
        stop.set()

        async def kept_past_its_first_claim() -> bool:
            claimed_until = await lane_claim(db, "stopping")
            now = SystemClock().now()
            return claimed_until is not None and claimed_until > now > first_claim

        deadline = time.monotonic() + 20
        while not await kept_past_its_first_claim():
            assert time.monotonic() < deadline, "the claim was not renewed after the stop"
            await asyncio.sleep(0.05)
        assert await second.deliver_due() == 0
        answered.set()
        await running
        assert delivered == [("stopping", 1)] and not await effects_of(db, "pending")
    finally:
        answered.set()
        stop.set()
        await running
        await db.dispose()


async def test_a_stopping_process_hands_a_lanes_backlog_over_after_the_message_in_flight(
    db_url: str,
) -> None:
    """A deploy's SIGTERM while a channel has messages waiting: the one being posted goes out,
    and the lane is let go with the others at once, for the new process to post in order (the
    stopping one posting them all at Slack's pace held up the deploy, and past its grace the
    process was killed with a claim in force)."""
    db = Database(db_url)
    delivered: list[tuple[str, str]] = []
    answered = asyncio.Event()

    async def slow(effect: Effect) -> None:
        delivered.append(("stopping", effect.payload["text"]))
        await answered.wait()

    async def fast(effect: Effect) -> None:
        delivered.append(("new", effect.payload["text"]))

    first = OutboxWorker(  # one message at a time: none folded into another
        db=db, deliver=slow, clock=SystemClock(), holder="stopping", per_lane=1, idle_poll=0.1
    )
    second = OutboxWorker(db=db, deliver=fast, clock=SystemClock(), holder="new", per_lane=1)
    async with db.transaction() as session:
        for text in ("one", "two", "three"):
            outbox.enqueue(session, Post(target="CSHARED", text=text), now=SystemClock().now())
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    try:
        await until(lambda: delivered)
        stop.set()
        answered.set()
        await asyncio.wait_for(running, timeout=10)
        assert delivered == [("stopping", "one")]
        claim = await lane_claim(db, "stopping")
        assert claim is None or claim < SystemClock().now()  # let go, not left to run out
        assert await second.deliver_due() == 2
        assert delivered == [("stopping", "one"), ("new", "two"), ("new", "three")]
        assert not await effects_of(db, "pending")
        async with db.transaction() as session:  # a stopped worker asked to deliver still does
            outbox.enqueue(session, Post(target="CSHARED", text="four"), now=SystemClock().now())
        assert await first.deliver_due() == 1
    finally:
        answered.set()
        stop.set()
        await running
        await db.dispose()


async def lane_claim(db: Database, holder: str) -> datetime | None:
    """Until when `holder` holds its lane (None: it holds none)."""
    async with db.sessions() as session:
        query = select(OutboxLane.expires_at).where(OutboxLane.holder == holder)
        return await session.scalar(query)


async def effects_of(db: Database, status: str) -> list[Effect]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Effect).where(Effect.status == status)))
