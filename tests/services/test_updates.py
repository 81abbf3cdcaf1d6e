"""Status updates and the stakeholder announcement, driven through signed HTTP on a FrozenClock."""

from __future__ import annotations

import json
from dataclasses import replace

from bridgekeeper.config import ProcessSettings
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store import incidents as incident_store
from tests.services.test_report import section
from tests.updating import Desk, containing, desk_for, texts


def announcement(desk: Desk) -> list[str]:
    channel = desk.slack.channels[desk.stakeholders]
    return [
        t
        for t, m in zip(texts(channel), channel.messages, strict=True)
        if "· status update" not in t and m.user
    ]


async def test_update_reaches_bridge_and_stakeholders_and_the_timeline(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login on vm-web-01 sev2")
        reply = await desk.command(
            "update Locked the account; checking sign-in logs <!here>", channel=bridge.id
        )
        assert "Update posted" in reply and desk.stakeholders in reply
        stakeholders = desk.slack.channels[desk.stakeholders]
        [update] = containing(stakeholders, "· status update")
        assert "Locked the account" in update and "Suspicious login" in update
        assert "SEV2" in update and "Detect" in update and "<!here>" not in update
        assert "next update by 2026-01-05 10:00 UTC" in update
        assert containing(bridge, "Locked the account; checking sign-in logs")
        assert not desk.slack.unsafe_mentions()
        async with desk.running.bk.db.sessions() as session:
            incident = await incident_store.get(session=session, number=1)
            assert incident is not None
            entries = await incident_store.timeline(session=session, incident_id=incident.id)
        [entry] = [e for e in entries if e.kind == "update_posted"]
        assert entry.text.startswith("Locked the account") and entry.actor == "U0ALICE"
        assert entry.data["channels"] == [desk.stakeholders]


async def test_one_announcement_edited_in_place_as_the_incident_changes(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Ransomware on the file server sev2")
        [first] = announcement(desk)
        assert "Ransomware on the file server" in first and "Open" in first
        assert "SEV2" in first and "U0ALICE" in first and bridge.id in first
        await desk.command("role commander <@U0BOB>", channel=bridge.id)
        await desk.command("severity sev1 spreading to backups", user="U0BOB", channel=bridge.id)
        await desk.command("stage diagnose", user="U0BOB", channel=bridge.id)
        [latest] = announcement(desk)
        assert "SEV1" in latest and "Diagnose" in latest and "U0BOB" in latest
        [message] = [m for m in desk.slack.messages(desk.stakeholders) if m.edits]
        assert len(message.edits) >= 3  # severity, stage, commander: chat.update, never reposted

        await desk.close()
        [closed] = announcement(desk)
        assert "Resolved" in closed and "2026-01-05 09:00 UTC" in closed


async def test_private_incident_discloses_only_number_severity_and_stage(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("CFO mailbox compromised sev1 private")
        await desk.command(
            "update Attacker forwarded payroll mails to evil.example", channel=bridge.id
        )
        stakeholders = json.dumps(texts(desk.slack.channels[desk.stakeholders]))
        assert "Incident 1" in stakeholders and "SEV1" in stakeholders
        assert "Detect" in stakeholders
        assert "CFO" not in stakeholders and "mailbox" not in stakeholders
        assert "payroll" not in stakeholders and bridge.id not in stakeholders
        assert bridge.name not in stakeholders and "U0ALICE" not in stakeholders
        assert containing(bridge, "Attacker forwarded payroll mails")  # the team sees it all
        await desk.command("close Reset the password", channel=bridge.id)
        log = section(desk.slack.files[-1].content.decode(), "Communications log")
        assert f"alice to #{bridge.name}: Attacker forwarded payroll mails to evil.example; " in log
        assert "; to #stakeholders: its number, severity and stage only (a private incident)" in log


async def test_private_codename_and_opting_in_to_details(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator, updates={"private_codename": "Project {number}"}) as desk:
        await desk.declare("CFO mailbox compromised sev1 private")
        shown = json.dumps(texts(desk.slack.channels[desk.stakeholders]))
        assert "Project 1" in shown and "CFO" not in shown


async def test_private_details_setting_shows_the_title(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator, updates={"private_details": True}) as desk:
        await desk.declare("CFO mailbox compromised sev1 private")
        assert "CFO mailbox" in json.dumps(texts(desk.slack.channels[desk.stakeholders]))


async def test_stakeholder_channels_per_severity(db_url: str, emulator: SlackEmulator) -> None:
    execs = emulator.add_channel("execs", members=["U0ALICE"])
    board = emulator.add_channel("board", members=["U0ALICE"])
    per_severity = {Severity.SEV1: (execs, board), Severity.SEV4: ()}
    async with desk_for(db_url, emulator, updates={"stakeholder_channels": per_severity}) as desk:
        low = await desk.declare("Phishing mail reported sev4")
        reply = await desk.command("update Nobody clicked", channel=low.id)
        assert "no stakeholder channel is configured" in reply
        high = await desk.declare("Database exfiltration sev1")
        await desk.command("update Blocked the egress", channel=high.id)
        for channel in (execs, board):
            assert containing(desk.slack.channels[channel], "Blocked the egress")
            assert not containing(desk.slack.channels[channel], "Nobody clicked")
        assert not containing(desk.slack.channels[desk.stakeholders], "Blocked the egress")
        # the announcement of the sev1 incident went to the first sev1 channel
        assert containing(desk.slack.channels[execs], "Database exfiltration")


async def test_post_update_button_opens_a_form_that_sets_stage_severity_and_next_time(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev3")
        [card] = [m for m in bridge.messages if m.ts in bridge.pins]
        assert "card_update" in json.dumps(card.blocks)
        driver = desk.running.driver
        await driver.block_action(
            user="U0ALICE",
            action_id="card_update",
            value=str((await desk.incident()).id),
            channel=bridge.id,
            message_ts=card.ts,
        )
        await desk.running.settle()
        [view_id] = list(desk.slack.views)
        blank = form("  ", "assess", "sev3", "default")
        empty = await driver.view_submission(user="U0ALICE", view_id=view_id, values=blank)
        assert empty.body["response_action"] == "errors" and "text" in empty.body["errors"]
        assert (await desk.incident()).stage == "detect"

        await desk.command("role commander <@U0ALICE>", channel=bridge.id)
        reply = await driver.view_submission(
            user="U0ALICE",
            view_id=view_id,
            values=form("Found the phishing mail", "diagnose", "sev2", "15"),
        )
        await desk.running.settle()
        assert reply.status == 200 and not reply.body
        incident = await desk.incident()
        assert incident.stage == "diagnose" and incident.severity == "sev2"
        [update] = containing(desk.slack.channels[desk.stakeholders], "Found the phishing mail")
        assert "SEV2" in update and "Diagnose" in update
        assert "next update by 2026-01-05 09:15 UTC" in update
        job = await desk.job(f"update-reminder:{incident.id}")
        assert job is not None and job.due_at == desk.clock.now().replace(minute=15)


async def test_form_refuses_a_severity_change_without_permission(
    db_url: str, emulator: SlackEmulator
) -> None:
    # the deputy may post updates here but only the commander may change the severity
    process = replace(
        ProcessSettings(), permissions={**ProcessSettings().permissions, "severity": ("commander",)}
    )
    async with desk_for(db_url, emulator, process=process) as desk:
        bridge = await desk.declare("Suspicious login sev3")
        await desk.command("role deputy <@U0DAVE>", channel=bridge.id)
        incident = await desk.incident()
        await desk.running.driver.block_action(
            user="U0DAVE", action_id="card_update", value=str(incident.id), channel=bridge.id
        )
        await desk.running.settle()
        [view_id] = list(desk.slack.views)
        reply = await desk.running.driver.view_submission(
            user="U0DAVE", view_id=view_id, values=form("All fine", "detect", "sev1", "default")
        )
        assert reply.body["response_action"] == "errors"
        assert "commander" in reply.body["errors"]["text"]
        await desk.running.settle()
        assert (await desk.incident()).severity == "sev3"
        assert not containing(desk.slack.channels[desk.stakeholders], "All fine")


async def test_update_button_refuses_who_may_not_post(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev3")
        incident = await desk.incident()
        reply = await desk.running.driver.block_action(
            user="U0DAVE", action_id="card_update", value=str(incident.id), channel=bridge.id
        )
        await desk.running.settle()
        assert not desk.slack.views
        told = [p.body for p in desk.slack.response_posts if p.url == reply.response_url]
        assert "post stakeholder updates" in json.dumps(told)


async def test_a_form_left_as_opened_undoes_no_change_made_meanwhile(
    db_url: str, emulator: SlackEmulator
) -> None:
    """Opened at SEV3 and Detect; the severity and stage change by command while it is open:
    its selects, left as they were, change nothing (Slack sends their initial options)."""
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev3")
        incident = await desk.incident()
        await desk.running.driver.block_action(
            user="U0ALICE", action_id="card_update", value=str(incident.id), channel=bridge.id
        )
        await desk.running.settle()
        [view_id] = list(desk.slack.views)
        await desk.command("severity sev1 data is leaving", channel=bridge.id)
        await desk.command("stage diagnose", channel=bridge.id)
        reply = await desk.running.driver.view_submission(
            user="U0ALICE", view_id=view_id, values=form("Still looking", "detect", "sev3", "15")
        )
        await desk.running.settle()
        assert reply.status == 200 and not reply.body
        after = await desk.incident()
        assert (after.severity, after.stage) == ("sev1", "diagnose")
        [update] = containing(desk.slack.channels[desk.stakeholders], "Still looking")
        assert "SEV1" in update and "Diagnose" in update


async def test_the_time_promised_to_stakeholders_is_kept_after_a_downgrade(
    db_url: str, emulator: SlackEmulator
) -> None:
    """A SEV1 update promises the next by its cadence's 30 minutes; lowered to SEV3 (4 hours)
    five minutes later, the commander is still reminded by the time promised."""
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Database down sev1")
        await desk.command("update Failing over to the replica", channel=bridge.id)
        [update] = containing(desk.slack.channels[desk.stakeholders], "Failing over")
        assert "next update by 2026-01-05 09:30 UTC" in update
        await desk.at(minutes=5)
        await desk.command("severity sev3 one region only", channel=bridge.id)
        await desk.at(minutes=24)
        assert not containing(bridge, "time for a status update")
        await desk.at(minutes=2)  # 09:31
        assert containing(bridge, "time for a status update")


def form(
    text: str, stage: str, severity: str, next_in: str
) -> dict[str, dict[str, dict[str, object]]]:
    def select(value: str) -> dict[str, dict[str, object]]:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    return {
        "text": {"value": {"type": "plain_text_input", "value": text}},
        "stage": select(stage),
        "severity": select(severity),
        "next": select(next_in),
    }
