"""Webhooks stored together (group commit): every alert of a batch is counted once, in order.

The requests here are handed to the intake service together, so they share one transaction,
the way concurrent webhooks do during a storm.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.services.alert_rows import Outcome, Result
from bridgekeeper.services.batching import take_ready
from bridgekeeper.services.repeats import BatchedAlert, plain_repeats, renders_due
from bridgekeeper.store.alerts import Repeat
from tests.alerting import (
    LaterClock,
    alert,
    bridgekeepers,
    card_texts,
    generic,
    post,
)
from tests.conftest import Running
from tests.examples import example


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


async def together(
    app: Running, payloads: list[dict[str, Any]], source: str = "generic"
) -> list[Outcome]:
    """Hand these webhooks to the intake at once: they are stored in one batch."""
    answers = await asyncio.gather(*(receive(app, source, p) for p in payloads))
    return [outcome for answer in answers for outcome in answer]


async def receive(app: Running, source: str, payload: dict[str, Any]) -> list[Outcome]:
    alerts = parse(source, payload, received_at=app.bk.clock.now())
    return await app.bk.intake.receive(alerts)


def alertmanager(*hosts: str, n: int = 0) -> dict[str, Any]:
    """One Alertmanager notification with a firing alert per host."""
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": host, "severity": "critical"},
            "annotations": {"summary": f"Disk full on {host}", "description": f"check {n}"},
            "startsAt": "2026-11-22T08:00:00Z",
            "fingerprint": f"disk-{host}",
        }
        for host in hosts
    ]
    return {"version": "4", "status": "firing", "receiver": "bridgekeeper", "alerts": alerts}


def datadog(delivery: int) -> dict[str, Any]:
    """A Datadog notification: Datadog names each delivery (`id`)."""
    body = example("datadog.json")
    body["id"] = f"delivery-{delivery}"
    return dict(body)


async def opened(app: Running, *keys: str) -> dict[str, int]:
    """One alert per key, carded; then one batch of repeats, which schedules each card's
    next render, so that later repeats only add to the count."""
    ids = {}
    for key in keys:
        answer = await post(app, "generic", generic(f"Disk full on {key}", dedup_key=key))
        ids[key] = answer.body["alert_id"]
    await app.settle()
    await together(app, [generic(f"Disk full on {key}", dedup_key=key, n=0) for key in keys])
    return ids


async def test_repeats_of_several_alerts_in_one_batch_are_each_counted(app: Running) -> None:
    ids = await opened(app, "db-01", "db-02", "db-03")
    repeats = [
        generic(f"Disk full on {key}", dedup_key=key, n=n)
        for n in range(1, 11)
        for key in ("db-01", "db-02", "db-03")
    ]
    outcomes = await together(app, repeats)
    assert [o.result for o in outcomes] == ["duplicate"] * 30
    assert [o.alert_id for o in outcomes] == [ids[r["dedup_key"]] for r in repeats]
    for alert_id in ids.values():
        assert (await alert(app, alert_id)).occurrences == 12  # first, opened(), ten here
    await app.settle()
    assert len(app.slack.calls_to("chat.postMessage")) == 3  # no card posted twice


async def test_the_same_body_twice_in_one_batch_counts_twice(app: Running) -> None:
    """A sender without delivery ids resends the same body while the alert keeps firing."""
    ids = await opened(app, "db-01")
    resent = generic("Disk full on db-01", dedup_key="db-01", n=1)
    outcomes = await together(
        app, [resent, resent, generic("Disk full on db-01", dedup_key="db-01", n=2)]
    )
    assert [o.alert_id for o in outcomes] == [ids["db-01"]] * 3
    assert (await alert(app, ids["db-01"])).occurrences == 5  # first, opened(), three here


async def test_a_named_delivery_twice_in_one_batch_counts_once(app: Running) -> None:
    first = await receive(app, "datadog", datadog(1))
    await app.settle()
    await together(app, [datadog(2)], source="datadog")  # its card's next render is scheduled
    outcomes = await together(app, [datadog(3), datadog(3), datadog(4)], source="datadog")
    assert [o.alert_id for o in outcomes] == [first[0].alert_id] * 3
    assert (await alert(app, first[0].alert_id)).occurrences == 4  # 1, 2, 3 once, 4


async def test_a_new_severity_in_the_middle_of_a_batch_is_kept(app: Running) -> None:
    ids = await opened(app, "db-01", "db-02")
    outcomes = await together(
        app,
        [
            generic("Disk full on db-01", dedup_key="db-01", n=1),
            generic("Disk full on db-02", dedup_key="db-02", n=1),
            generic("Disk full on db-01", dedup_key="db-01", n=2, severity="sev1"),
            generic("Disk full on db-01", dedup_key="db-01", n=3, severity="sev1"),
        ],
    )
    assert [o.result for o in outcomes] == ["duplicate"] * 4
    first, second = await alert(app, ids["db-01"]), await alert(app, ids["db-02"])
    assert (first.severity, first.occurrences) == ("sev1", 5)
    assert (second.severity, second.occurrences) == ("sev2", 3)


async def test_a_resolution_after_repeats_in_one_batch_resolves_the_alert(app: Running) -> None:
    ids = await opened(app, "db-01")
    outcomes = await together(
        app,
        [
            generic("Disk full on db-01", dedup_key="db-01", n=1),
            generic("Disk full on db-01", dedup_key="db-01", n=2),
            generic("Disk full on db-01", dedup_key="db-01", status="resolved"),
        ],
    )
    assert [o.result for o in outcomes] == ["duplicate", "duplicate", "resolved"]
    stored = await alert(app, ids["db-01"])
    assert (stored.status, stored.occurrences) == ("resolved", 4)


async def test_a_request_with_a_repeat_and_a_new_alert_answers_both_in_order(
    app: Running,
) -> None:
    first = await receive(app, "alertmanager", alertmanager("db-01"))
    await app.settle()
    await together(app, [alertmanager("db-01", n=1)], source="alertmanager")
    outcomes = await together(
        app,
        [alertmanager("db-01", n=2), alertmanager("db-01", "db-02", n=3)],
        source="alertmanager",
    )
    assert [o.result for o in outcomes] == ["duplicate", "duplicate", "new"]
    assert outcomes[0].alert_id == outcomes[1].alert_id == first[0].alert_id
    assert (await alert(app, first[0].alert_id)).occurrences == 4
    assert (await alert(app, outcomes[2].alert_id)).title == "Disk full on db-02"


def test_plain_repeats_are_taken_by_whole_keys_and_whole_requests() -> None:
    """Request 2 holds a repeat of a and an alert c that is not open: request 2 is stored the
    slow way, so key a is too, and with it request 0; only request 1 (b) is counted at once."""
    now = datetime.now(UTC)
    open_alerts = {f"generic:{k}": Repeat(i, "sev2", None, None) for i, k in enumerate("ab", 1)}

    def queued(key: str, request: int) -> BatchedAlert:
        payload = generic(f"Disk full on {key}", dedup_key=key)
        return BatchedAlert(
            parse("generic", payload, received_at=now)[0], f"{key}{request}", request
        )

    items = [queued("a", 0), queued("b", 1), queued("a", 2), queued("c", 2)]
    assert plain_repeats(items, open_alerts, skip=set()) == {1: Outcome(2, Result.DUPLICATE, None)}
    assert plain_repeats(items[:3], open_alerts, skip={"a2"}) == {
        1: Outcome(2, Result.DUPLICATE, None)
    }  # a redelivery is not a plain repeat either


async def test_an_alert_that_flaps_among_others_is_stored_in_the_order_it_came(
    app: Running,
) -> None:
    """The firing repeats after a resolution come while the resolution is being written (on
    PostgreSQL other alerts' requests may then be written at the same time); they must not
    overtake it."""
    ids = await opened(app, "db-01", "db-02", "db-03")
    flapping = [generic("Disk full on db-01", dedup_key="db-01", n=n) for n in range(1, 4)]
    flapping.append(generic("Disk full on db-01", dedup_key="db-01", status="resolved"))
    flapping += [generic("Disk full on db-01", dedup_key="db-01", n=n) for n in range(4, 6)]
    others = [
        generic(f"Disk full on {key}", dedup_key=key, n=n)
        for n in range(1, 7)
        for key in ("db-02", "db-03")
    ]
    requests = [r for pair in zip(others[::2], others[1::2], flapping, strict=True) for r in pair]
    first = asyncio.ensure_future(together(app, requests[:12]))  # up to the resolution
    for _ in range(3):
        await asyncio.sleep(0)  # the writer has taken them
    outcomes = await together(app, requests[12:])
    outcomes = await first + outcomes
    results = [o.result for o, r in zip(outcomes, requests, strict=True) if r in flapping]
    assert results == ["duplicate"] * 3 + ["resolved", "new", "duplicate"]
    resolved = await alert(app, ids["db-01"])
    assert (resolved.status, resolved.occurrences) == ("resolved", 5)  # first, opened(), three
    reopened = await alert(app, outcomes[requests.index(flapping[4])].alert_id)
    assert (reopened.status, reopened.occurrences) == ("firing", 2)
    for key in ("db-02", "db-03"):
        assert (await alert(app, ids[key])).occurrences == 8


def test_a_batch_takes_no_request_that_shares_an_alert_with_one_being_written_or_waiting() -> None:
    waiting = [
        ("r1", frozenset({"a"})),
        ("r2", frozenset({"b"})),  # b is being written
        ("r3", frozenset({"c", "b"})),  # shares b
        ("r4", frozenset({"c"})),  # c is held by r3, which came first
        ("r5", frozenset({"d"})),
        ("r6", frozenset({"a"})),  # a is in this batch: after r1, in the same transaction
        ("r7", frozenset({"e"})),
    ]
    taken, left = take_ready(waiting, lambda r: r[1], busy={"b"}, limit=3)
    assert [name for name, _ in taken] == ["r1", "r5", "r6"]
    assert [name for name, _ in left] == ["r2", "r3", "r4", "r7"]  # r7: over the limit


async def test_repeats_after_a_card_render_queue_the_next_paced_and_it_shows_the_count(
    db_url: str, emulator: SlackEmulator
) -> None:
    clock = LaterClock()
    async with bridgekeepers(db_url, emulator) as start:
        app = await start(clock=clock)
        interval = app.bk.settings.alerts.card_refresh_seconds
        ids = await opened(app, "db-01")  # the render after the first repeat is due in 20 s
        clock.advance(seconds=interval)
        await app.settle()
        assert "*Count:* 2" in card_texts(app)[0]
        rendered = clock.now()

        outcomes = await together(
            app, [generic("Disk full on db-01", dedup_key="db-01", n=n) for n in range(1, 4)]
        )
        assert [o.result for o in outcomes] == ["duplicate"] * 3
        stored = await alert(app, ids["db-01"])
        assert stored.occurrences == 5
        assert stored.card_refresh_at is not None
        # paced from the render, which came a little before `rendered` (seconds, on a busy machine)
        assert stored.card_refresh_at - rendered >= timedelta(seconds=interval - 5)
        await app.settle()
        assert "*Count:* 2" in card_texts(app)[0]  # not before its time

        clock.advance(seconds=interval)
        await app.settle()
        assert "*Count:* 5" in card_texts(app)[0]
        assert len(app.slack.calls_to("chat.postMessage")) == 1


def test_a_render_is_queued_only_for_repeated_alerts_whose_card_has_none_scheduled() -> None:
    now = datetime.now(UTC)
    interval = timedelta(seconds=20)
    repeats = [
        Repeat(1, "sev2", None, now - timedelta(seconds=30)),  # last render long ago: due now
        Repeat(2, "sev2", None, now - timedelta(seconds=5)),  # 15 s to go
        Repeat(3, "sev2", None, now + timedelta(seconds=10)),  # one is scheduled
        Repeat(4, "sev2", None, None),  # no card
    ]
    due = renders_due(repeats, now, interval)
    assert due == {1: now, 2: now + timedelta(seconds=15)}


async def test_webhooks_that_came_while_the_database_was_busy_are_counted_together(
    app: Running,
) -> None:
    """On SQLite the intake takes its batch once its turn of the single writer has come: the
    requests that came while a command's transaction held the database are all in it, not
    only those that were waiting when it began to wait."""
    db = app.bk.db
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no single writer (two batches are written at once)")
    ids = await opened(app, "db-01")
    await app.settle()
    counts: list[str] = []

    def counting(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE alerts SET") and "occurrences + " in statement:
            counts.append(statement)

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", counting)
    began, release = asyncio.Event(), asyncio.Event()

    async def command() -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            began.set()
            await release.wait()

    held = asyncio.create_task(command())
    await began.wait()
    resent = generic("Disk full on db-01", dedup_key="db-01", n=0)
    first = asyncio.create_task(receive(app, "generic", resent))
    for _ in range(20):  # the intake, handed the first, waits for the writer
        await asyncio.sleep(0)
    later = [asyncio.create_task(receive(app, "generic", resent)) for _ in range(7)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(first, *later, held)
    assert [o.alert_id for answer in outcomes[:-1] for o in answer] == [ids["db-01"]] * 8
    assert (await alert(app, ids["db-01"])).occurrences == 10  # first, opened(), eight here
    assert len(counts) == 1
