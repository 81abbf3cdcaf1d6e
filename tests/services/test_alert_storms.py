"""The alert path under storms: repeats, flapping, a growing group and a flood of new alerts,
seen through the Slack emulator and the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text, update

from bridgekeeper.config import AutoDeclareRule
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.models import Alert
from tests.alerting import (
    LaterClock,
    Start,
    alert,
    alerts,
    bridgekeepers,
    card_texts,
    generic,
    incidents,
    post,
    timeline,
    triage_channel,
)
from tests.conftest import Running

GROUPED = "Alerts grouped into this incident"


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator) as start:
        yield start


def body(title: str, key: str, **fields: Any) -> bytes:
    return json.dumps(generic(title, dedup_key=key, **fields)).encode()


# -- flapping --------------------------------------------------------------------------------
async def test_the_same_resolve_after_a_refire_resolves_the_alert_and_its_card(
    serve: Start,
) -> None:
    app = await serve()
    fire, resolve = (
        body("Disk full on db-01", "db-01"),
        body("Disk full on db-01", "db-01", status="resolved"),
    )
    first = await post(app, "generic", fire)
    assert (await post(app, "generic", resolve)).body["result"] == "resolved"
    again = await post(app, "generic", fire)
    assert again.body["result"] == "new" and again.body["alert_id"] != first.body["alert_id"]
    await app.settle()

    answer = await post(app, "generic", resolve)  # the very bytes of the first resolve
    assert (answer.body["alert_id"], answer.body["result"]) == (again.body["alert_id"], "resolved")
    assert (await alert(app, again.body["alert_id"])).status == "resolved"
    await app.settle()
    cards = card_texts(app)
    assert len(cards) == 2 and all("*Status:* resolved" in card for card in cards)


async def test_a_late_copy_of_an_earlier_resolve_leaves_the_refired_alert_firing(
    serve: Start,
) -> None:
    """Fired, resolved, fired again: the first resolve delivered again late (a sender's retry)
    ended before this firing began, so the alert still fires; its own resolve resolves it."""
    app = await serve()
    start = datetime.now(UTC) - timedelta(hours=1)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    fire = body("Disk full on db-01", "db-01", started_at=at(0))
    old_resolve = body(
        "Disk full on db-01", "db-01", status="resolved", started_at=at(0), ended_at=at(5)
    )
    await post(app, "generic", fire)
    assert (await post(app, "generic", old_resolve)).body["result"] == "resolved"
    again = await post(app, "generic", body("Disk full on db-01", "db-01", started_at=at(25)))
    assert again.body["result"] == "new"
    late = await post(app, "generic", old_resolve)
    assert (late.body["alert_id"], late.body["result"]) == (again.body["alert_id"], "duplicate")
    assert (await alert(app, again.body["alert_id"])).status == "firing"
    own = body("Disk full on db-01", "db-01", status="resolved", started_at=at(25), ended_at=at(40))
    assert (await post(app, "generic", own)).body["result"] == "resolved"
    stored = await alert(app, again.body["alert_id"])
    assert stored.status == "resolved" and stored.resolved_at == start + timedelta(minutes=40)


async def test_a_resolve_on_a_clock_behind_ours_still_resolves(serve: Start) -> None:
    """A firing without a start time is first seen when it came; its sender's resolve, on a
    clock behind ours, ended "before" that, and it is no copy of anything: it resolves. So does
    a resolve that came before its firing, sent again after it."""
    app = await serve()
    behind = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    fired = await post(app, "generic", body("Disk full on db-02", "db-02"))
    resolve = body("Disk full on db-02", "db-02", status="resolved", ended_at=behind)
    assert (await post(app, "generic", resolve)).body["result"] == "resolved"
    assert (await alert(app, fired.body["alert_id"])).status == "resolved"

    start = datetime.now(UTC) - timedelta(hours=1)
    ended = (start + timedelta(minutes=5)).isoformat()
    first = body("CPU high on db-03", "db-03", status="resolved", ended_at=ended)
    assert (await post(app, "generic", first)).body["result"] == "resolved"
    firing = body("CPU high on db-03", "db-03", started_at=start.isoformat())
    later = await post(app, "generic", firing)
    assert (await post(app, "generic", first)).body["result"] == "resolved"
    assert (await alert(app, later.body["alert_id"])).status == "resolved"


# -- byte-identical repeats ------------------------------------------------------------------
async def test_identical_bodies_sent_at_once_are_each_counted(serve: Start) -> None:
    app = await serve()
    bodies = [body(f"CPU high on web-{n}", f"cpu-{n}") for n in range(4)]
    await asyncio.gather(*(post(app, "generic", b) for b in bodies))
    answers = await asyncio.gather(*(post(app, "generic", bodies[n % 4]) for n in range(96)))
    assert {a.status for a in answers} == {202}
    assert {a.body["result"] for a in answers} == {"duplicate"}
    assert [a.occurrences for a in await alerts(app)] == [25, 25, 25, 25]
    await app.settle()
    assert len(app.slack.calls_to("chat.postMessage")) == 4


# -- a growing group -------------------------------------------------------------------------
async def test_grouped_alerts_update_one_message_in_the_bridge_channel(serve: Start) -> None:
    clock = LaterClock()
    rule = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV1)
    app = await serve(clock=clock, auto_declare=(rule,))
    declared = await post(app, "generic", generic("db-01 down", severity="sev1", resource="db-01"))
    assert declared.body["incident"] == 1
    joined = []
    for n in range(12):
        answer = await post(app, "generic", generic(f"db-01 check {n}", resource="db-01"))
        assert answer.body["result"] == "attached"
        joined.append(answer.body["alert_id"])
    resolved = generic("db-01 check 0", resource="db-01", status="resolved")
    assert (await post(app, "generic", resolved)).body["result"] == "resolved"
    await app.settle()
    clock.advance(seconds=app.bk.settings.alerts.card_refresh_seconds)  # the paced render
    await app.settle()

    [incident] = await incidents(app)
    messages = [m.text + json.dumps(m.blocks) for m in bridge_messages(app, incident.channel_id)]
    [card] = [m for m in messages if GROUPED in m]
    assert f"{GROUPED}: 13* (12 firing)" in card and "db-01 check 11" in card
    assert not any("attached the" in m or "resolved" in m for m in messages if GROUPED not in m)
    entries = await timeline(app, incident.id)
    attached = [e.data["alert_id"] for e in entries if e.kind == "alert_attached"]
    assert attached == [declared.body["alert_id"], *joined]
    assert [e.data["alert_id"] for e in entries if e.kind == "alert_resolved"] == joined[:1]


def bridge_messages(app: Running, channel: str | None) -> list[Any]:
    assert channel is not None
    return app.slack.messages(channel)


# -- a flood of new alerts -------------------------------------------------------------------
async def test_past_the_cards_a_minute_allows_new_alerts_go_into_one_digest(
    serve: Start,
) -> None:
    clock = LaterClock()
    app = await serve(clock=clock, triage_cards_per_minute=3)
    for n in range(3):
        await post(app, "generic", generic(f"Own card {n}", dedup_key=f"own-{n}"))
    stormed = []
    for n in range(5):
        answer = await post(app, "alertmanager", alertmanager(f"Storm alert {n}", n))
        stormed.append(answer.body["alerts"][0]["alert_id"])
    await app.settle()
    clock.advance(seconds=app.bk.settings.alerts.card_refresh_seconds)
    await app.settle()

    cards = card_texts(app)
    assert len(cards) == 4  # three of their own, one digest
    assert sum("Own card" in c for c in cards) == 3
    [digest] = [c for c in cards if "digest_list" in c]
    assert "5 more alerts from Alertmanager" in digest and "Storm alert 4" in digest
    assert len(app.slack.calls_to("chat.postMessage")) == 4  # the digest updated in place
    window = stormed[0]
    assert {a.digest for a in await alerts(app) if a.id in stormed} == {window}

    await hide_in_a_private_incident(app, stormed[1])
    told = await list_them(app, window)
    assert all(f"Storm alert {n}" in told for n in (0, 2, 3, 4))
    assert "Storm alert 1" not in told and "1 more is part of a private incident" in told

    clock.advance(minutes=1)  # the storm has passed
    await post(app, "generic", generic("After the storm", dedup_key="after"))
    await app.settle()
    assert any("After the storm" in c and "alert_ack" in c for c in card_texts(app))


async def test_one_notification_of_a_whole_group_gets_what_each_alert_would_alone(
    serve: Start,
) -> None:
    """Alertmanager sends a group's alerts in one body, stored in one transaction: each alert
    still sees the cards, digest and incidents the ones before it made."""
    rule = AutoDeclareRule(sources=("alertmanager",), min_severity=Severity.SEV2)
    app = await serve(triage_cards_per_minute=3, auto_declare=(rule,))
    group = [  # alert name, labels
        ("WebDown", {"instance": "web-0", "severity": "warning"}),  # a card of its own
        ("DbDown", {"instance": "db-01", "severity": "critical"}),  # an incident, and a card
        ("DbSlow", {"instance": "db-01", "node": "rack-7", "severity": "warning"}),  # joins
        ("WebDown", {"instance": "web-3", "severity": "warning"}),  # the minute's third card
        ("WebDown", {"instance": "web-4", "severity": "warning"}),  # the digest's first line
        ("WebDown", {"instance": "web-5", "severity": "warning"}),
        ("VolFull", {"instance": "nas-2", "node": "rack-7", "severity": "warning"}),  # joins
        ("WebDown", {"instance": "web-7", "severity": "warning"}),
    ]
    body = {"version": "4", "status": "firing", "receiver": "bridgekeeper", "alerts": [
        {"status": "firing", "startsAt": "2026-11-22T08:00:00Z", "fingerprint": f"group-{n}",
         "labels": {"alertname": name, **labels}}
        for n, (name, labels) in enumerate(group)
    ]}  # fmt: skip
    answer = await post(app, "alertmanager", body)
    results = [(a["result"], a["incident"]) for a in answer.body["alerts"]]
    assert results == [("new", None), ("new", 1), ("attached", 1), ("new", None),
                       ("new", None), ("new", None), ("attached", 1), ("new", None)]  # fmt: skip
    await app.settle()
    headers = sorted(json.loads(card)[0]["text"]["text"] for card in card_texts(app))
    assert headers == [
        "3 more alerts from Alertmanager",
        "SEV2 · DbDown on db-01",
        "SEV3 · WebDown on web-0",
        "SEV3 · WebDown on web-3",
    ]
    [digest] = [card for card in card_texts(app) if "digest_list" in card]
    assert all(f"web-{n}" in digest for n in (4, 5, 7))


async def test_a_repeat_brings_its_idle_incident_back_for_the_next_alert_in_the_body(
    serve: Start,
) -> None:
    """An incident whose alerts went quiet past the grouping window takes new alerts again once
    one of them repeats, also later in the same notification."""
    clock = LaterClock()
    rule = AutoDeclareRule(sources=("alertmanager",), min_severity=Severity.SEV2)
    app = await serve(clock=clock, auto_declare=(rule,))
    down = ("DbDown", {"instance": "db-01", "severity": "critical"})
    declared = await post(app, "alertmanager", notification([down]))
    assert declared.body["alerts"][0]["incident"] == 1
    clock.advance(minutes=app.bk.settings.alerts.grouping_window_minutes + 5)
    slow = ("DbSlow", {"instance": "db-01", "severity": "warning"})
    web = ("WebDown", {"instance": "web-0", "severity": "warning"})
    answer = await post(app, "alertmanager", notification([web, down, slow]))
    results = [(a["result"], a["incident"]) for a in answer.body["alerts"]]
    assert results == [("new", None), ("duplicate", 1), ("attached", 1)]
    assert len(await incidents(app)) == 1


def notification(alerts: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    """One Alertmanager body of these alerts (name, labels), each its name as fingerprint."""
    return {"version": "4", "status": "firing", "receiver": "bridgekeeper", "alerts": [
        {"status": "firing", "startsAt": "2026-11-22T08:00:00Z", "fingerprint": name,
         "labels": {"alertname": name, **labels}} for name, labels in alerts
    ]}  # fmt: skip


async def test_a_notification_of_new_alerts_in_a_storm_asks_the_database_little_for_each(
    serve: Start,
) -> None:
    """A fleet-wide outage comes as one body of hundreds of new alerts, which Alertmanager
    gives 10 s: the storm, the digest and the open incidents are read once, not per alert."""
    app = await serve(triage_cards_per_minute=3)
    notification = {"version": "4", "status": "firing", "receiver": "bridgekeeper", "alerts": [
        {"status": "firing", "startsAt": "2026-11-22T08:00:00Z", "fingerprint": f"node-{n}",
         "labels": {"alertname": "NodeDown", "instance": f"node-{n}", "severity": "warning"}}
        for n in range(200)
    ]}  # fmt: skip
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    for engine in app.bk.db.engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = await post(app, "alertmanager", notification)
    finally:
        for engine in app.bk.db.engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert [a["result"] for a in answer.body["alerts"]] == ["new"] * 200
    assert len(statements) <= 3 * 200 + 40  # was 7 an alert: a count, a digest, renders, keys
    await app.settle()
    assert any("197 more alerts from Alertmanager" in card for card in card_texts(app))


def alertmanager(title: str, n: int) -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": f"Storm{n}", "instance": f"web-{n}", "severity": "critical"},
        "annotations": {"summary": title},
        "startsAt": "2026-11-22T08:00:00Z",
        "fingerprint": f"storm-{n}",
    }
    return {"version": "4", "status": "firing", "receiver": "bridgekeeper", "alerts": [alert]}


async def hide_in_a_private_incident(app: Running, alert_id: int) -> None:
    """A private incident holds one of the digest's alerts."""
    await app.command("declare Payroll breach sev1 private")
    await app.settle()
    [incident] = await incidents(app)
    async with app.bk.db.transaction() as session:
        await session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values(incident_id=incident.id, incident_number=incident.number)
        )


async def list_them(app: Running, window: int, user: str = "U0DAVE") -> str:
    reply = await app.driver.block_action(
        user=user, action_id="digest_list", value=str(window), channel=triage_channel(app)
    )
    assert reply.status == 200
    await app.settle()
    return json.dumps([p.body for p in app.slack.response_posts if p.url == reply.response_url])


# -- a card's render and a repeat in flight -----------------------------------------------------
async def test_a_card_render_due_while_a_repeat_is_being_stored_shows_that_repeat(
    serve: Start, db_url: str
) -> None:
    """A repeat stored while its card's paced render is already scheduled queues no render of
    its own: the scheduled one must show it, even when it falls due before the repeat commits.
    (On SQLite the render's claim waits for the writer; PostgreSQL lets it read at once.)"""
    if not db_url.startswith("postgresql"):
        pytest.skip("on SQLite the render cannot start while a repeat is being written")
    clock = LaterClock()
    app = await serve(clock=clock)
    fire = body("CPU high on web-1", "cpu-1")
    alert_id = (await post(app, "generic", fire)).body["alert_id"]
    await app.settle()
    clock.advance(seconds=1)
    await post(app, "generic", fire)  # the card's next render is scheduled, paced
    updates = len(app.slack.calls_to("chat.update"))
    async with app.bk.db.transaction() as session:  # a third sighting, in flight
        await session.execute(
            update(Alert).where(Alert.id == alert_id).values(occurrences=Alert.occurrences + 1)
        )
        clock.advance(seconds=app.bk.settings.alerts.card_refresh_seconds)
        app.bk.worker.wake()
        await until_rendered_or_waiting(app, session, updates)
    await app.settle()
    [card] = card_texts(app)
    assert "*Count:* 3" in card


async def until_rendered_or_waiting(app: Running, holder: Any, updates: int) -> None:
    """Until the card is updated, or its render waits for the lock `holder` holds."""
    mine = await holder.scalar(text("SELECT pg_backend_pid()"))
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    async with asyncio.timeout(10):
        while len(app.slack.calls_to("chat.update")) == updates:
            async with app.bk.db.sessions() as session:
                if await session.scalar(query, {"pid": mine}):
                    return
            await asyncio.sleep(0.01)


# -- the storm's digest ------------------------------------------------------------------------
async def test_a_digest_alerts_repeats_show_on_the_digest_card(serve: Start) -> None:
    """Its count follows on the digest card, at the refresh pace, as on an alert's own card."""
    clock = LaterClock()
    app = await serve(clock=clock, triage_cards_per_minute=1)
    await post(app, "generic", generic("Own card", dedup_key="own"))
    stormed = await post(app, "generic", generic("Stormed alert", dedup_key="stormed"))
    await app.settle()
    [digest] = [c for c in card_texts(app) if "digest_list" in c]
    assert "*Count:* 1" in digest
    for _ in range(4):  # the alert keeps firing
        clock.advance(seconds=app.bk.settings.alerts.card_refresh_seconds + 1)
        assert (await post(app, "generic", generic("Stormed alert", dedup_key="stormed"))).body[
            "result"
        ] == "duplicate"
        await app.settle()
    assert (await alert(app, stormed.body["alert_id"])).occurrences == 5
    clock.advance(seconds=app.bk.settings.alerts.card_refresh_seconds + 1)
    await app.settle()
    [digest] = [c for c in card_texts(app) if "digest_list" in c]
    assert "*Count:* 5" in digest, digest
