"""The evidence register: every command through signed HTTP, the custody history in the report,
and the audit finding an evidence hash changed in the database behind the bot's back."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from bridgekeeper.sandbox.state import Channel
from bridgekeeper.store.models import EvidenceItem, TimelineEntry
from tests.cli.test_audit import Audit, audit  # noqa: F401 (the fixture)
from tests.conftest import Running
from tests.services.test_access import SECRET, mark, outside_since
from tests.services.test_close import channel_text, declare, entries, reports, say

DISK = "a3f1" * 16
OTHER = "0b5e" * 16


async def register(running: Running) -> list[EvidenceItem]:
    async with running.bk.db.sessions() as session:
        query = select(EvidenceItem).order_by(EvidenceItem.incident_id, EvidenceItem.number)
        return list(await session.scalars(query))


async def elsewhere(running: Running, text: str) -> str:
    """What someone outside the incident is told running `text` from another channel."""
    reply = await running.command(text, user="U0DAVE")
    await running.settle()
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return json.dumps([reply.body, *posts], ensure_ascii=False)


async def kinds(running: Running) -> list[str]:
    return [e.kind for e in await entries(running) if e.kind.startswith("evidence_")]


async def collected(running: Running) -> Channel:
    """An incident with two items: a disk image with its hash and place, a log without hash."""
    channel = await declare(running)
    said = await say(
        running,
        channel,
        f"evidence add Disk image of web-3 sha256={DISK.upper()} location=Locker 4, room B",
    )
    assert "Evidence 1 recorded" in said
    assert "Add a hash with" in await say(running, channel, "evidence add auth.log <from> web-3")
    return channel


async def test_items_are_numbered_with_collector_hash_and_place(running: Running) -> None:
    channel = await collected(running)
    disk, log = await register(running)
    assert (disk.number, disk.description, disk.sha256) == (1, "Disk image of web-3", DISK)
    assert (disk.location, disk.collected_by, disk.custodian) == (
        "Locker 4, room B",
        *["U0ALICE"] * 2,
    )
    assert (log.number, log.description, log.sha256, log.location) == (
        2,
        "auth.log <from> web-3",
        None,
        None,
    )
    listed = await say(running, channel, "evidence", user="U0BOB")
    assert "Disk image of web-3" in listed and DISK in listed and "Locker 4, room B" in listed
    assert "auth.log &lt;from&gt; web-3" in listed and "not recorded" in listed
    assert "added evidence 1" in channel_text(running, channel.id)
    assert await kinds(running) == ["evidence_added", "evidence_added"]


async def test_custody_changes_hands_and_checks_are_recorded(running: Running) -> None:
    channel = await collected(running)
    said = await say(running, channel, "evidence transfer 1 <@U0BOB> taken to the forensic lab")
    assert "handed from <@U0ALICE> to <@U0BOB>" in said
    assert "matches its recorded" in await say(
        running, channel, f"evidence verify 1 {DISK}", user="U0BOB"
    )
    assert "is now recorded" in await say(running, channel, f"evidence verify 2 {OTHER}")
    disk, log = await register(running)
    assert disk.custodian == "U0BOB" and log.sha256 == OTHER
    assert (
        await kinds(running)
        == ["evidence_added"] * 2 + ["evidence_transferred"] + ["evidence_verified"] * 2
    )
    moved = [e for e in await entries(running) if e.kind == "evidence_transferred"]
    assert moved[0].text == "taken to the forensic lab" and moved[0].data["from"] == "U0ALICE"


async def test_a_different_hash_is_a_failed_check_said_loudly(running: Running) -> None:
    channel = await collected(running)
    said = await say(running, channel, f"evidence verify 1 {OTHER}", user="U0BOB")
    assert "does *not* match" in said
    [check] = [e for e in await entries(running) if e.kind == "evidence_verified"]
    assert check.data["matched"] is False and check.data["checked"] == OTHER
    assert check.actor == "U0BOB"
    [alarm] = [m.text for m in running.slack.messages(channel.id) if "integrity check" in m.text]
    assert "<!here>" in alarm and OTHER in alarm and DISK in alarm
    assert (await register(running))[0].sha256 == DISK  # the recorded hash stays


async def test_bad_input_gets_its_usage_and_changes_nothing(running: Running) -> None:
    channel = await collected(running)
    before = len(await entries(running))
    answers = {
        "evidence add Disk sha256=abc": "isn't a SHA-256",
        f"evidence add Disk sha256={DISK}0": "isn't a SHA-256",
        f"evidence add sha256={DISK}": "Write what the evidence is",
        "evidence verify 1 xyz": "isn't a SHA-256",
        "evidence verify 1": "Give the SHA-256",
        "evidence verify": "Say which evidence item",
        f"evidence verify one {DISK}": "isn't an evidence number",
        "evidence transfer 1": "Say who takes the evidence",
        "evidence transfer 1 <@U0BOB>": "Say why the evidence changes hands",
        "evidence burn 1": "doesn't take",
        f"evidence verify 9 {DISK}": "There is no evidence item 9",
        "evidence transfer 9 <@U0BOB> lab": "There is no evidence item 9",
    }
    for text, expected in answers.items():
        said = await say(running, channel, text)
        assert expected in said, (text, said)
    assert len(await entries(running)) == before
    assert [i.sha256 for i in await register(running)] == [DISK, None]


async def test_a_private_incidents_evidence_does_not_exist_outside_it(running: Running) -> None:
    bridge = await declare(running, f"{SECRET} sev1 private")
    await say(running, bridge, f"evidence add {SECRET} laptop sha256={DISK}")
    since = mark(running, bridge)
    outside = [
        "evidence #{n}",
        "evidence #{n} add stolen copy",
        "evidence #{n} transfer 1 <@U0DAVE> mine",
        "evidence #{n} verify 1 " + OTHER,
    ]
    for command in outside:
        missing = await elsewhere(running, command.format(n=99))
        hidden = await elsewhere(running, command.format(n=1))
        assert hidden == missing.replace("99", "1") and "There is no incident 1" in hidden
    assert SECRET not in outside_since(running, bridge, since)
    [item] = await register(running)
    assert item.custodian == "U0ALICE" and item.sha256 == DISK
    assert await kinds(running) == ["evidence_added"]


async def test_the_report_has_the_full_custody_history(running: Running) -> None:
    channel = await collected(running)
    await say(running, channel, "evidence transfer 1 <@U0BOB> to the lab")
    await say(running, channel, f"evidence verify 1 {OTHER}", user="U0BOB")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close contained")
    stored = {r.format: r.body for r in await reports(running)}
    outline = json.loads(stored["json"])["evidence"]
    assert [(i["number"], i["sha256"], i["custodian"]) for i in outline] == [
        (1, DISK, "U0BOB"),
        (2, None, "U0ALICE"),
    ]
    steps = [(s["kind"], s["to"], s["matched"]) for s in outline[0]["custody"]]
    assert steps == [
        ("added", None, None),
        ("transferred", "U0BOB", None),
        ("verified", None, False),
    ]
    assert outline[0]["custody"][1]["reason"] == "to the lab"
    markdown = stored["md"].split("## Appendix: evidence and chain of custody")[1]
    assert "Locker 4, room B" in markdown and "handed it to bob: to the lab" in markdown
    assert "DOES NOT MATCH" in markdown and "Held by bob" in markdown
    html = stored["html"].split('id="evidence"')[1]
    assert "auth.log &lt;from&gt; web-3" in html and f"<code>{OTHER}</code>" in html


async def test_the_audit_finds_a_changed_evidence_hash(running: Running, audit: Audit) -> None:  # noqa: F811
    channel = await collected(running)
    await say(running, channel, "evidence transfer 1 <@U0BOB> to the lab")
    assert (await audit()).returncode == 0
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(EvidenceItem).where(EvidenceItem.number == 1).values(sha256=OTHER)
        )
    verdict = await audit()
    assert verdict.returncode != 0
    assert "1 problem" in verdict.stdout
    assert 'CHANGED: evidence 1 sha256: the timeline says "a3f1' in verdict.stdout


async def test_the_audit_finds_a_changed_custody_entry(running: Running, audit: Audit) -> None:  # noqa: F811
    channel = await collected(running)
    await say(running, channel, "evidence transfer 1 <@U0BOB> to the lab")
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.kind == "evidence_transferred")
            .values(data={"number": 1, "custodian": "U0DAVE"})
        )
    verdict = await audit()
    assert verdict.returncode != 0 and "MODIFIED" in verdict.stdout


def form_values(description: str, sha256: str = "", location: str = "") -> dict[str, Any]:
    def typed(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value or None}}

    return {"description": typed(description), "sha256": typed(sha256), "location": typed(location)}


async def open_form(
    running: Running, channel: str, text: str = "evidence add", user: str = "U0ALICE"
) -> str:
    before = set(running.slack.views)
    await say(running, channel, text, user=user)
    [view_id] = [v for v in running.slack.views if v not in before]
    assert running.slack.views[view_id].view["callback_id"] == "add_evidence"
    return view_id


async def test_the_form_adds_evidence_and_refuses_a_bad_hash_inline(running: Running) -> None:
    channel = await declare(running)
    view_id = await open_form(running, channel.id)
    bad = await running.driver.view_submission(
        user="U0ALICE", view_id=view_id, values=form_values("Memory dump", "123")
    )
    assert bad.status == 200 and "64 hexadecimal" in json.dumps(bad.body)
    assert await register(running) == []
    good = await running.driver.view_submission(
        user="U0ALICE", view_id=view_id, values=form_values("Memory dump", DISK.upper(), "Safe 2")
    )
    assert good.status == 200 and "errors" not in json.dumps(good.body)
    await running.settle()
    [item] = await register(running)
    assert (item.description, item.sha256, item.location) == ("Memory dump", DISK, "Safe 2")


async def test_the_form_is_refused_to_outsiders_of_a_private_incident(running: Running) -> None:
    await declare(running, f"{SECRET} sev1 private")
    before = set(running.slack.views)
    missing = await elsewhere(running, "evidence #99 add")
    hidden = await elsewhere(running, "evidence #1 add")
    assert hidden == missing.replace("99", "1") and "There is no incident 1" in hidden
    assert set(running.slack.views) == before
