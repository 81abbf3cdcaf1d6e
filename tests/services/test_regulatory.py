"""Regulatory notification clocks on a FrozenClock: each deadline and its reminders, done and
none, unknown regimes, and regimes from the TOML file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bridgekeeper.config import load_settings
from bridgekeeper.domain import reminders
from bridgekeeper.domain.regimes import Span
from bridgekeeper.errors import ConfigError
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.services.regulatory_clocks import clock_summaries
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import NotificationClock
from tests.services.test_lifecycle import timeline
from tests.updating import START, Desk, containing, desk_for, dm

REMINDER = ":alarm_clock:"


def card(bridge: Channel) -> str:
    [pinned] = [m for m in bridge.messages if m.ts in bridge.pins]
    return json.dumps(pinned.blocks)


async def clock_row(desk: Desk, regime: str) -> NotificationClock:
    async with desk.running.bk.db.sessions() as session:
        row = await session.scalar(
            select(NotificationClock).where(NotificationClock.regime == regime)
        )
        assert row is not None
        return row


async def test_gdpr_clock_reminds_at_half_time_80_percent_an_hour_before_and_at_the_deadline(
    db_url: str, emulator: SlackEmulator
) -> None:
    contacts = {"regulatory_contacts": ("U0CAROL", "S0PRIVACY")}
    async with desk_for(db_url, emulator, updates=contacts) as desk:
        bridge = await desk.declare("Customer database exposed sev1")
        await desk.command("role commander <@U0BOB>", channel=bridge.id)
        await desk.at(minutes=30)
        reply = await desk.command("notify gdpr", user="U0BOB", channel=bridge.id)
        assert "GDPR clock started" in reply and "2026-01-08 09:00 UTC" in reply  # 72 h
        assert containing(bridge, "started the *GDPR* notification clock")
        assert "Notification deadlines" in card(bridge) and "2026-01-08 09:00 UTC" in card(bridge)

        expected = [(36, "in 1d 12h"), (57.6, "in 14h 24m"), (71, "in 1h"), (72, "*overdue*")]
        elapsed = 0.5
        for hours, wording in expected:
            await desk.at(hours=hours - elapsed - 0.01)
            assert len(containing(bridge, REMINDER)) == expected.index((hours, wording))
            await desk.at(hours=0.01)
            elapsed = hours
            latest = containing(bridge, REMINDER)[-1]
            assert wording in latest and "<@U0BOB>" in latest
            assert "<!subteam^S0PRIVACY>" in latest and "<@U0CAROL>" in latest
        assert len(containing(bridge, REMINDER)) == 4
        assert len([t for t in dm(desk.slack, "U0CAROL") if REMINDER in t]) == 4
        await desk.at(days=10)
        assert len(containing(bridge, REMINDER)) == 4  # nothing after the deadline


async def test_awareness_time_given_with_the_command(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Lost laptop sev3")
        await desk.command("notify gdpr 2026-01-04 21:00", channel=bridge.id)
        clock = await clock_row(desk, "gdpr")
        assert clock.aware_at == START - timedelta(hours=12)
        assert clock.deadlines[0]["due_at"].startswith("2026-01-07T21:00")
        await desk.at(hours=24)  # half time (36 h after awareness) was at START + 24 h
        assert len(containing(bridge, REMINDER)) == 1
        future = await desk.command("notify nis2 2030-01-01T00:00Z", channel=bridge.id)
        assert "in the future" in future


async def test_nis2_deadlines_in_turn_with_done(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Ransomware at the water plant sev1")
        reply = await desk.command("notify nis2", channel=bridge.id)
        assert "early warning" in reply and "2026-01-06 09:00 UTC" in reply
        [started] = containing(bridge, "started the *NIS2*")
        assert "2026-01-08 09:00 UTC" in started and "2026-02-08 09:00 UTC" in started
        await desk.at(hours=12)  # half time of the early warning
        [first] = containing(bridge, REMINDER)
        assert "early warning" in first and "NIS2" in first

        await desk.at(hours=2)
        await desk.command("role deputy <@U0BOB>", channel=bridge.id)
        done = await desk.command("notify done nis2", user="U0BOB", channel=bridge.id)
        assert "early warning" in done and "incident notification" in done
        clock = await clock_row(desk, "nis2")
        assert clock.deadlines[0]["done_by"] == "U0BOB" and clock.status == "open"
        assert clock.deadlines[0]["done_at"].startswith("2026-01-05T23:00")
        await desk.at(hours=10)  # 24 h: the early warning is met, no reminder for it
        assert len(containing(bridge, REMINDER)) == 1
        await desk.at(hours=12)  # 36 h: half time of the 72 h notification
        second = containing(bridge, REMINDER)[-1]
        assert len(containing(bridge, REMINDER)) == 2 and "incident notification" in second

        await desk.command("notify done nis2", channel=bridge.id)
        last = await desk.command("notify done nis2", channel=bridge.id)
        assert "Recorded" in last and (await clock_row(desk, "nis2")).status == "done"
        assert containing(bridge, "Every NIS2 deadline is met")
        await desk.at(days=40)
        assert len(containing(bridge, REMINDER)) == 2
        assert "Notification deadlines" not in card(bridge)
        again = await desk.command("notify done nis2", channel=bridge.id)
        assert "already settled" in again


async def test_none_records_the_decision_and_stops_the_reminders(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Misdirected email sev3")
        await desk.command("notify gdpr", channel=bridge.id)
        missing = await desk.command("notify none gdpr", channel=bridge.id)
        assert "Say why" in missing
        await desk.command("role deputy <@U0BOB>", channel=bridge.id)
        await desk.command(
            "notify none gdpr encrypted attachment, key not disclosed",
            user="U0BOB",
            channel=bridge.id,
        )
        clock = await clock_row(desk, "gdpr")
        assert clock.status == "not_required" and clock.decided_by == "U0BOB"
        assert clock.rationale == "encrypted attachment, key not disclosed"
        assert containing(bridge, "no *GDPR* notification is needed")
        await desk.at(days=4)
        assert not containing(bridge, REMINDER)
        # a decision without a running clock is recorded too (NIS2 never started)
        await desk.command("notify none nis2 not an essential service", channel=bridge.id)
        assert (await clock_row(desk, "nis2")).status == "not_required"
        async with desk.running.bk.db.sessions() as session:
            incident = await incident_store.get(session=session, number=1)
            assert incident is not None
            entries = await incident_store.timeline(session=session, incident_id=incident.id)
            shown = await clock_summaries(session, incident.id, {"gdpr": "GDPR", "nis2": "NIS2"})
        kinds = [e.kind for e in entries]
        assert kinds.count("notification_not_required") == 2
        assert "notification_clock_started" in kinds
        assert [(c["regime"], c["status"]) for c in shown] == [
            ("GDPR", "not_required"),
            ("NIS2", "not_required"),
        ]


async def test_unknown_regime_lists_the_known_ones_and_refusals(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev2")
        unknown = await desk.command("notify hipaa", channel=bridge.id)
        assert "`hipaa` isn't a notification regime" in unknown
        assert "`gdpr` (GDPR)" in unknown and "`nis2` (NIS2)" in unknown
        not_started = await desk.command("notify done gdpr", channel=bridge.id)
        assert "No GDPR clock runs" in not_started
        await desk.command("notify GDPR", channel=bridge.id)
        twice = await desk.command("notify gdpr", channel=bridge.id)
        assert "already runs" in twice
        async with desk.running.bk.db.sessions() as session:
            assert len(list(await session.scalars(select(NotificationClock)))) == 1


async def test_regimes_from_the_toml_file(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    config = tmp_path / "bridgekeeper.toml"
    config.write_text(
        '[regulatory]\ncontacts = ["U0CAROL"]\napplies = ["financial_entity"]\n'
        '[[regulatory.regimes]]\nname = "dora"\ntitle = "DORA"\nremind = ["U0DAVE"]\n'
        'deadlines = [{label = "initial notification", hours = 4},'
        ' {label = "intermediate report", days = 3, from = "previous"}]\n'
        '[[regulatory.regimes]]\nname = "ccpa"\nauthority = "the California AG"\n'
        'deadlines = [{label = "notify residents", business_days = 10, from = "materiality"}]\n'
    )
    settings = load_settings({"BRIDGEKEEPER_CONFIG": str(config)})
    rules = {r.name: r for r in settings.updates.regimes}
    dora, ccpa = rules["dora"], rules["ccpa"]
    assert [d.span for d in dora.deadlines] == [Span(4), Span(3, "days", "previous")]
    assert dora.remind == ("U0DAVE",) and settings.updates.regulatory_facts == {"financial_entity"}
    assert ccpa.title == "CCPA"
    assert ccpa.deadlines[0].span == Span(10, "business_days", "materiality")
    assert set(rules) == {"gdpr", "nis2", "dora", "cra", "cra-incident", "sec", "ccpa"}
    updates = {"regimes": settings.updates.regimes, "regulatory_contacts": ("U0CAROL",)}
    async with desk_for(db_url, emulator, updates=updates) as desk:
        bridge = await desk.declare("Payment outage sev1")
        await desk.command("notify dora", channel=bridge.id)
        await desk.at(hours=2)  # half of 4 h
        [reminder] = containing(bridge, REMINDER)
        assert "DORA" in reminder and "initial notification" in reminder
        assert [t for t in dm(desk.slack, "U0DAVE") if "DORA" in t]
        assert [t for t in dm(desk.slack, "U0CAROL") if "DORA" in t]


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[updates]\ncadence_minutes = {sev1 = -5}", "updates.cadence_minutes.sev1"),
        ("[updates]\ncadence_minutes = {sev9 = 5}", "updates.cadence_minutes.sev9"),
        (
            '[updates]\nstakeholder_channels = {sev1 = ["#general"]}',
            "updates.stakeholder_channels.sev1",
        ),
        ("[updates]\nno_commander_minutes = 0", "updates.no_commander_minutes"),
        ('[updates]\nprivate_details = "yes"', "updates.private_details"),
        ('[regulatory]\ncontacts = ["legal@example.com"]', "regulatory.contacts"),
        ('[[regulatory.regimes]]\nname = "x"\ndeadlines = []', "regulatory.regimes[0].deadlines"),
        (
            '[[regulatory.regimes]]\nname = "x"\ndeadlines = [{label = "a", hours = 0}]',
            "regulatory.regimes[0].deadlines[0].hours",
        ),
        (
            '[[regulatory.regimes]]\nname = "x"\ndeadlines = [{label = "a", hours = 1, days = 1}]',
            "regulatory.regimes[0].deadlines",
        ),
        (
            '[[regulatory.regimes]]\nname = "x"\ndeadlines = [{label = "a", from = "awareness"}]',
            "regulatory.regimes[0].deadlines",
        ),
        (
            '[[regulatory.regimes]]\nname = "x"\n'
            'deadlines = [{label = "a", hours = 1, from = "lunch"}]',
            "regulatory.regimes[0].deadlines[0].from",
        ),
    ],
)
def test_invalid_configuration_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml + "\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({"BRIDGEKEEPER_CONFIG": str(config)})
    assert raised.value.key == key


def test_reminder_points() -> None:
    deadline = reminders.DueDeadline("notify", START, START + timedelta(hours=72))
    points = reminders.reminder_times(START, deadline.due_at)
    assert [(p - START) / timedelta(hours=1) for p in points] == [36, 57.6, 71, 72]
    # two points missed together make one reminder, for the latest of them
    due = reminders.due_reminder([deadline], START, START + timedelta(hours=60))
    assert due is not None and due.at == START + timedelta(hours=57.6)


async def test_a_deadlines_name_keeps_its_capitals(db_url: str, emulator: SlackEmulator) -> None:
    """The name reads "File Form 8-K Item 1.05" where the clock starts, as everywhere else."""
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Ransomware on the ERP sev1")
        await desk.command("notify sec", channel=bridge.id)
        [started] = containing(bridge, "notification clock")
        assert "File Form 8-K Item 1.05" in started.split("counted from awareness", 1)[1]
        await desk.at(hours=1)
        await desk.command("notify sec material", channel=bridge.id)
        [recorded] = containing(bridge, "for the *SEC Form 8-K Item 1.05* clock")
        assert "8-k item" not in recorded


async def test_a_clock_started_after_the_archive_reminds_the_commander(
    db_url: str, emulator: SlackEmulator
) -> None:
    """Clocks outlive the incident: one started once its bridge channel is archived (a breach
    understood at the review) goes to the commander by DM, where Slack takes it; the archived
    channel refused every message and nobody was reminded."""
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Mailbox compromised sev2")
        await desk.command("close Reset the password", channel=bridge.id)
        await desk.at(hours=25)
        assert await desk.running.bk.archiving.run_due_archives(desk.clock.now()) == 1
        await desk.running.settle()
        assert "GDPR clock started" in await desk.command("notify 1 gdpr")
        await desk.at(hours=13)  # half time: 36 h after awareness (the declaration)
        told = dm(desk.slack, "U0ALICE")
        assert any("started the *GDPR* notification clock" in text for text in told)
        assert any("*GDPR* for incident 1" in text for text in told)
        failed = [e for e in await timeline(desk.running) if e.kind == "delivery_failed"]
        assert failed == []
