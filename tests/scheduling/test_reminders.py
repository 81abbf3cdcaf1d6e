"""Reminders on a FrozenClock: update cadence (due, not due after an update, snoozed), a missing
commander, the post-incident review, and a reminder that survives a restart."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import event

from bridgekeeper.clock import FrozenClock
from bridgekeeper.domain import reminders
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.reminders import ReminderPolicy, UpdateFacts
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.services.incidents import BOT_ACTOR
from tests.updating import START, containing, desk_for, dm

UPDATE_DUE = "time for a status update"
NO_COMMANDER = "still has no commander"


def job_lag(kind: str) -> tuple[float, float]:
    """bridgekeeper_scheduled_job_lag_seconds (count, sum) as this process's /metrics shows it."""
    name, labels = "bridgekeeper_scheduled_job_lag_seconds", {"kind": kind}
    count = REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0
    return count, REGISTRY.get_sample_value(f"{name}_sum", labels) or 0.0


def update_reminders(bridge: Channel) -> list[str]:
    return containing(bridge, UPDATE_DUE)


async def test_update_reminder_falls_due_after_the_cadence_once(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev2")
        await desk.command("role commander <@U0BOB>", channel=bridge.id)
        assert await desk.at(minutes=59) == 0
        assert not update_reminders(bridge)
        await desk.at(minutes=1)  # 60 minutes for SEV2
        [reminder] = update_reminders(bridge)
        assert "<@U0BOB>" in reminder and "every 1h" in reminder
        assert "update_snooze_15" in reminder and "update_snooze_60" in reminder
        assert await desk.at(minutes=1) == 0  # fired once, not again
        await desk.at(minutes=59)  # still no update: again one cadence later
        assert len(update_reminders(bridge)) == 2


async def test_no_reminder_when_an_update_was_posted_in_the_meantime(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev1")
        await desk.at(minutes=20)
        await desk.command("update Contained the host", channel=bridge.id)
        assert await desk.at(minutes=10) == 0  # 30 min after declaring: the update counts
        assert not update_reminders(bridge)
        await desk.at(minutes=20)  # 30 min after the update
        assert len(update_reminders(bridge)) == 1


async def test_snooze_moves_the_reminder(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev2")
        await desk.at(minutes=60)
        [message] = [m for m in bridge.messages if UPDATE_DUE in json.dumps(m.blocks)]
        incident = await desk.incident()
        click = await desk.running.driver.block_action(
            user="U0ALICE",
            action_id="update_snooze_15",
            value=str(incident.id),
            channel=bridge.id,
            message_ts=message.ts,
        )
        await desk.running.settle()
        answer = json.dumps(
            [p.body for p in desk.slack.response_posts if p.url == click.response_url]
        )
        assert "snoozed" in answer and "10:15 UTC" in answer
        assert await desk.at(minutes=14) == 0
        await desk.at(minutes=1)
        assert len(update_reminders(bridge)) == 2


async def test_snoozed_reminder_is_dropped_when_an_update_comes_first(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev2")
        await desk.at(minutes=60)
        incident = await desk.incident()
        await desk.running.bk.updates.snooze(incident_id=incident.id, minutes=15, user="U0ALICE")
        await desk.at(minutes=5)
        await desk.command("update Still looking", channel=bridge.id)
        assert await desk.at(minutes=15) == 0
        assert len(update_reminders(bridge)) == 1


async def test_cadence_follows_the_severity(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        low = await desk.declare("Phishing mail reported sev4")
        incident = await desk.incident()
        job = await desk.job(f"update-reminder:{incident.id}")
        assert job is None or job.status != "pending"  # SEV4: no update reminders
        await desk.command("role commander <@U0ALICE>", channel=low.id)
        await desk.command("severity sev1 it was opened by the CFO", channel=low.id)
        await desk.at(minutes=30)
        assert len(update_reminders(low)) == 1


async def test_missing_commander_reminder(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        # an alert rule declares with nobody in command; a person who declares commands
        await desk.running.bk.incidents.declare(user=BOT_ACTOR, title="Nobody leads this")
        await desk.running.settle()
        [lonely] = [c for c in desk.slack.channels.values() if c.name.startswith("inc-1-")]
        led = await desk.declare("Somebody leads this sev3")
        await desk.at(minutes=9)
        assert not containing(lonely, NO_COMMANDER)
        await desk.at(minutes=1)
        [reminder] = containing(lonely, NO_COMMANDER)
        assert "declared automatically" in reminder and "role commander" in reminder
        assert not containing(led, NO_COMMANDER)
        await desk.at(hours=2)
        assert len(containing(lonely, NO_COMMANDER)) == 1  # once


async def test_review_reminder_days_after_close(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev3")
        await desk.command("role commander <@U0BOB>", channel=bridge.id)
        await desk.at(minutes=30)
        await desk.close()
        await desk.at(days=2, hours=23)
        assert not [t for t in dm(desk.slack, "U0BOB") if "post-incident review" in t]
        await desk.at(hours=1)
        [review] = [t for t in dm(desk.slack, "U0BOB") if "post-incident review" in t]
        assert "Incident 1 closed 3 days ago" in review
        assert not update_reminders(bridge)  # a closed incident needs no more updates


async def test_the_review_reminder_of_a_private_incident_points_to_its_channel(
    db_url: str, emulator: SlackEmulator
) -> None:
    """A private incident cannot be named by number outside its bridge channel: the reminder
    points to the channel, where the report is, not to a command that would find nothing."""
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Payroll exfiltration sev2 private")
        await desk.command("role commander <@U0BOB>", channel=bridge.id)
        await desk.close()
        await desk.at(days=3)
        [review] = [t for t in dm(desk.slack, "U0BOB") if "post-incident review" in t]
        assert f"Its report is in its bridge channel, <#{bridge.id}>." in review
        assert "/incident report" not in review and "Payroll" not in review


async def test_a_reminder_due_while_down_fires_once_after_restart(
    db_url: str, emulator: SlackEmulator
) -> None:
    clock = FrozenClock(START)
    async with desk_for(db_url, emulator, clock=clock) as desk:
        bridge_id = (await desk.declare("Suspicious login sev2")).id
        await desk.command("role commander <@U0BOB>", channel=bridge_id)
        stakeholders = desk.stakeholders
    clock.advance(hours=3)  # down for three SEV2 periods
    lag = job_lag("update_reminder")
    async with desk_for(db_url, emulator, clock=clock, stakeholders=stakeholders) as desk:
        bridge = emulator.channels[bridge_id]
        for _ in range(200):  # the new leader fires what fell due as it starts
            await desk.running.settle()
            if update_reminders(bridge):
                break
        assert len(update_reminders(bridge)) == 1
        assert await desk.at(minutes=1) == 0
        assert len(update_reminders(bridge)) == 1
        job = await desk.job(f"update-reminder:{(await desk.incident()).id}")
        assert job is not None and job.due_at == START + timedelta(hours=4)
    (count, seconds), (count_before, seconds_before) = job_lag("update_reminder"), lag
    assert count - count_before == 1
    assert seconds - seconds_before >= 2 * 3600  # due an hour in, fired three hours in


def test_update_due_rules() -> None:
    policy = ReminderPolicy(
        cadence={Severity.SEV2: timedelta(minutes=60), Severity.SEV4: None},
        no_commander=timedelta(minutes=10),
        review_after=timedelta(days=3),
    )
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    minutes = lambda m: t0 + timedelta(minutes=m)  # noqa: E731
    facts = UpdateFacts(open=True, severity=Severity.SEV2, declared_at=t0)
    assert reminders.update_due(facts, policy) == minutes(60)
    promised = UpdateFacts(
        True, Severity.SEV2, t0, last_update_at=minutes(5), promised_at=minutes(20)
    )
    assert reminders.update_due(promised, policy) == minutes(20)
    # the cadence's own promise, told to stakeholders: kept after a downgrade, and sooner
    # after a raise (here SEV2's 60 minutes, after a promise of 4 hours made at SEV3)
    default = replace(promised, promise_chosen=False)
    assert reminders.update_due(default, policy) == minutes(20)
    assert reminders.update_due(replace(default, promised_at=minutes(245)), policy) == minutes(65)
    chosen_late = replace(promised, promised_at=minutes(245))
    assert reminders.update_due(chosen_late, policy) == minutes(245)
    reminded = UpdateFacts(True, Severity.SEV2, t0, reminded_at=minutes(60))
    assert reminders.update_due(reminded, policy) == minutes(120)
    snoozed = UpdateFacts(
        True,
        Severity.SEV2,
        t0,
        reminded_at=minutes(60),
        snoozed_at=minutes(61),
        snoozed_until=minutes(76),
    )
    assert reminders.update_due(snoozed, policy) == minutes(76)
    overtaken = UpdateFacts(
        True,
        Severity.SEV2,
        t0,
        last_update_at=minutes(70),
        reminded_at=minutes(60),
        snoozed_at=minutes(61),
        snoozed_until=minutes(76),
    )
    assert reminders.update_due(overtaken, policy) == minutes(130)
    assert reminders.update_due(UpdateFacts(True, Severity.SEV4, t0), policy) is None
    assert reminders.update_due(UpdateFacts(False, Severity.SEV2, t0), policy) is None


async def test_a_change_reads_the_incident_s_reminders_once(
    db_url: str, emulator: SlackEmulator
) -> None:
    """Every change moves the update, commander and review reminders: one read of the three,
    not a read of each before and again while moving it (six)."""
    async with desk_for(db_url, emulator) as desk:
        channel = await desk.declare("Phishing mail reported sev3")
        reads: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().startswith("SELECT") and "FROM scheduled_jobs" in statement:
                reads.append(statement)

        for engine in desk.running.bk.db.engines:
            event.listen(engine, "before_cursor_execute", seen)
        try:
            await desk.command("severity sev2 it reached the finance team", channel=channel.id)
        finally:
            for engine in desk.running.bk.db.engines:
                event.remove(engine, "before_cursor_execute", seen)
        assert len(reads) == 1
        incident = await desk.incident()
        job = await desk.job(f"update-reminder:{incident.id}")
        assert job is not None and job.status == "pending"  # still moved by the change
