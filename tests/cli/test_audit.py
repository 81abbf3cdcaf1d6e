"""`bridgekeeper audit verify`: a timeline changed in the database behind the bot's back shows up.

Incidents are run through signed HTTP as usual; then rows are changed directly with SQL, as
someone with database access would, and the real CLI is run in-process against the database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy import text as sql

from bridgekeeper.domain.timeline import entry_hash
from bridgekeeper.store.models import Incident, TimelineEntry
from tests.command_line import Done, run_bridgekeeper_beside
from tests.conftest import Running
from tests.services.test_lifecycle import declare, timeline

Audit = Callable[..., Awaitable[Done]]
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# erase the line, back to its start, and write a reassuring one over it
FORGED_USER = "\x1b[2K\rAudit trail intact\x1b[8m"
FORGED_ROLE = "\x1b[1A\x1b[2K\x1b[1A\x1b[2K\rok"


@pytest.fixture
def audit(db_url: str) -> Audit:
    return auditor(db_url)


def auditor(url: str) -> Audit:
    """`bridgekeeper audit verify` of the database at `url`."""

    async def run(*args: str) -> Done:
        env = {**os.environ, "DATABASE_URL": url}
        return await run_bridgekeeper_beside("audit", "verify", *args, env=env)

    return run


async def busy_incident(running: Running, title: str = "Suspicious login") -> None:
    """An incident with entries of several kinds (roles, severity, stage, notes, a pin)."""
    channel = await declare(running, title)
    for text in (
        "role commander <@U0ALICE>",
        "severity sev1 customer data may be exposed",
        "stage assess",
        "note attacker IP is 203.0.113.7 — “quoted” ünïcode",
        "note second finding",
        "task rotate the keys <@U0BOB>",
        "impact c=high i=low personal-data=yes",
    ):
        reply = await running.command(text, channel=channel.id)
        assert reply.status == 200
    ts = running.slack.post_user_message(channel.id, "U0BOB", "look at this").ts
    await running.driver.reaction_added(user="U0ALICE", channel=channel.id, ts=ts)
    await running.settle()


async def entry(running: Running, seq: int, number: int = 1) -> TimelineEntry:
    [found] = [e for e in await timeline(running, number) if e.seq == seq]
    return found


async def test_an_untouched_trail_verifies(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    await busy_incident(running, "Disk full")
    verdict = await audit()
    assert verdict.returncode == 0, verdict.stdout
    assert "intact" in verdict.stdout and "2 incidents" in verdict.stdout
    length = len(await timeline(running))
    assert length >= 8
    assert f"incident 1: {length} entries" in verdict.stdout


async def test_an_edited_entry_is_reported_modified(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    target = await entry(running, 5)
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(TimelineEntry).where(TimelineEntry.id == target.id).values(text="nothing seen")
        )
    verdict = await audit()
    assert verdict.returncode == 1
    assert "TAMPERED" in verdict.stdout
    assert "incident 1, entry 5: MODIFIED" in verdict.stdout
    assert verdict.stdout.count("MODIFIED") == 1


async def test_an_edited_timestamp_or_actor_is_reported(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    second, third = await entry(running, 2), await entry(running, 3)
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.id == second.id)
            .values(at=datetime(2020, 1, 1, tzinfo=UTC))
        )
        await session.execute(
            update(TimelineEntry).where(TimelineEntry.id == third.id).values(actor="U0DAVE")
        )
    verdict = await audit()
    assert verdict.returncode == 1
    assert "entry 2: MODIFIED" in verdict.stdout and "entry 3: MODIFIED" in verdict.stdout


async def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(
    running: Running, audit: Audit
) -> None:
    """A forger who knows the hash function recomputes the entry's hash: the chain still breaks."""
    await busy_incident(running)
    target = await entry(running, 4)
    forged = entry_hash(
        prev_hash=target.prev_hash,
        seq=target.seq,
        at=target.at,
        actor=target.actor,
        kind=target.kind,
        text="nothing seen",
        data=target.data,
    )
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.id == target.id)
            .values(text="nothing seen", hash=forged)
        )
    verdict = await audit()
    assert verdict.returncode == 1
    assert "incident 1, entry 5: INSERTED: does not link to the entry before it" in verdict.stdout


async def test_a_deleted_entry_is_reported(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    target = await entry(running, 3)
    async with running.bk.db.transaction() as session:
        await session.execute(delete(TimelineEntry).where(TimelineEntry.id == target.id))
    verdict = await audit()
    assert verdict.returncode == 1
    assert "incident 1, entry 4: DELETED: entry 3 missing before it" in verdict.stdout


async def test_deleting_the_last_entries_is_reported(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    entries = await timeline(running)
    last_two = [e.id for e in entries[-2:]]
    async with running.bk.db.transaction() as session:
        await session.execute(delete(TimelineEntry).where(TimelineEntry.id.in_(last_two)))
    verdict = await audit()
    assert verdict.returncode == 1
    n = len(entries)
    assert f"DELETED: the incident records {n} entries" in verdict.stdout
    assert f"entries {n - 1}-{n} missing at the end" in verdict.stdout


async def test_a_forged_entry_inserted_is_reported(running: Running, audit: Audit) -> None:
    """A well-formed forgery (right seq, link and hash) still disagrees with the incident row."""
    await busy_incident(running)
    last = (await timeline(running))[-1]
    at = datetime(2030, 1, 1, tzinfo=UTC)
    fields = {"seq": last.seq + 1, "at": at, "actor": "U0DAVE", "kind": "note"}
    forged_hash = entry_hash(prev_hash=last.hash, text="all clear", data={}, **fields)  # type: ignore[arg-type]
    async with running.bk.db.transaction() as session:
        session.add(
            TimelineEntry(
                incident_id=last.incident_id,
                recorded_at=at,
                text="all clear",
                data={},
                prev_hash=last.hash,
                hash=forged_hash,
                **fields,
            )
        )
    verdict = await audit()
    assert verdict.returncode == 1
    assert f"INSERTED: the incident records {last.seq} entries" in verdict.stdout
    assert f"entry {last.seq + 1} added at the end" in verdict.stdout


async def test_a_forged_entry_in_the_middle_is_reported(running: Running, audit: Audit) -> None:
    """Making room for a forged entry means renumbering the rest: their hashes give it away."""
    await busy_incident(running)
    entries = await timeline(running)
    async with running.bk.db.transaction() as session:
        for later in reversed(entries[2:]):
            await session.execute(
                update(TimelineEntry).where(TimelineEntry.id == later.id).values(seq=later.seq + 1)
            )
        before = entries[1]
        session.add(
            TimelineEntry(
                incident_id=before.incident_id,
                seq=3,
                at=before.at,
                recorded_at=before.at,
                actor="U0DAVE",
                kind="note",
                text="dave was here",
                data={},
                prev_hash=before.hash,
                hash="f" * 64,
            )
        )
    verdict = await audit()
    assert verdict.returncode == 1
    assert "entry 3: MODIFIED" in verdict.stdout
    assert "entry 4: MODIFIED" in verdict.stdout  # the renumbered entry that was 3
    assert "INSERTED: the incident records" in verdict.stdout


async def test_a_changed_head_on_the_incident_is_reported(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(Incident).where(Incident.number == 1).values(timeline_head="0" * 64)
        )
    verdict = await audit()
    assert verdict.returncode == 1
    assert "MODIFIED: the last entry is not the one the incident records" in verdict.stdout


async def test_one_incident_can_be_checked_alone(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    await busy_incident(running, "Disk full")
    target = await entry(running, 2, number=1)
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(TimelineEntry).where(TimelineEntry.id == target.id).values(kind="note")
        )
    only_second = await audit("2")
    assert only_second.returncode == 0 and "1 incident," in only_second.stdout
    only_first = await audit("1")
    assert only_first.returncode == 1 and "incident 1, entry 2: MODIFIED" in only_first.stdout
    missing = await audit("7")
    assert missing.returncode == 2 and "no incident 7" in missing.stderr


async def test_an_empty_database_verifies(audit: Audit) -> None:
    verdict = await audit()
    assert verdict.returncode == 0 and "0 incidents" in verdict.stdout


async def test_a_timeline_moved_to_another_incident_is_found(
    running: Running, audit: Audit
) -> None:
    await declare(running, "Disk full")
    await declare(running, "Suspicious login")
    async with running.bk.db.transaction() as session:
        first, second = (await session.scalars(select(Incident).order_by(Incident.number))).all()
        await session.execute(delete(TimelineEntry).where(TimelineEntry.incident_id == second.id))
        await session.execute(
            update(TimelineEntry)
            .where(TimelineEntry.incident_id == first.id)
            .values(incident_id=second.id)
        )
        await session.execute(
            update(Incident)
            .where(Incident.id == second.id)
            .values(timeline_head=first.timeline_head, timeline_length=first.timeline_length)
        )
    verdict = await audit("2")
    assert verdict.returncode == 1
    assert "incident 2, entry 1: MOVED: does not start this incident's chain" in verdict.stdout
    assert 'title: the timeline says "Disk full"' in verdict.stdout


async def test_a_renumbered_incident_is_found(running: Running, audit: Audit) -> None:
    await busy_incident(running)
    async with running.bk.db.transaction() as session:
        await session.execute(update(Incident).where(Incident.number == 1).values(number=7))
    verdict = await audit("7")
    assert verdict.returncode == 1 and "incident 7, entry 1: MOVED" in verdict.stdout


# -- exit status 2: the check could not be made -------------------------------------------------
async def test_a_forged_role_row_cannot_write_control_characters_to_the_terminal(
    running: Running,
    audit: Audit,
) -> None:
    await busy_incident(running)
    async with running.bk.db.transaction() as session:
        await session.execute(
            sql("UPDATE role_assignments SET user_id = :user WHERE role = 'commander'"),
            {"user": FORGED_USER},
        )
        await session.execute(
            sql("UPDATE role_assignments SET role = :role WHERE role = 'commander'"),
            {"role": FORGED_ROLE},
        )
    verdict = await audit("1")
    assert verdict.returncode == 1, verdict.stdout
    assert "TAMPERED" in verdict.stdout
    assert CONTROLS.findall(verdict.stdout) == []
    assert "\\u001b[2K\\rAudit trail intact" in verdict.stdout  # the forgery, shown as such


async def test_an_unreachable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    for url in (
        f"sqlite:///{tmp_path}/no/such/folder/bridgekeeper.db",
        "postgresql://auditor:s3cret-pw@127.0.0.1:1/bridgekeeper",
    ):
        done = await auditor(url)()
        assert done.returncode == 2, done.stderr
        assert done.stdout == "" and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "could not be checked" in done.stderr and "s3cret-pw" not in done.stderr


async def test_a_database_without_the_schema_exits_2(tmp_path: Path) -> None:
    done = await auditor(f"sqlite:///{tmp_path}/empty.db")()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "bridgekeeper db upgrade" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
