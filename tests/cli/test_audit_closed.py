"""`bridgekeeper audit verify` on a closed incident (roles handed over, severity and stage
changed, impact, tasks, closed with the full form, reopened and closed again): everything its
report shows, changed with SQL behind the bot's back, is found.

The incident is run through the bot once per test process (`built_database`); each test changes
its own copy of that database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Executable, delete, select, update
from sqlalchemy import text as sql

from bridgekeeper.domain.timeline import GENESIS, entry_hash
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Incident, Report, RoleAssignment, Task, TimelineEntry
from tests.cli.test_audit import Audit, auditor
from tests.conftest import Running, built_database, copy_database, drop_database
from tests.services.test_close import close_with_form, say
from tests.services.test_lifecycle import declare


async def closed_incident(running: Running) -> None:
    """Roles handed over, severity and stage changed, impact, tasks (one done), closed with the
    full form, reopened and closed again: two report versions."""
    channel = await declare(running)
    for text in (
        "severity sev1 customer data may be exposed",
        "role deputy <@U0CAROL>",
        "role commander <@U0BOB>",
        "stage assess",
        "impact c=high i=low personal-data=yes",
        "task rotate the keys <@U0BOB>",
        "task tell the customers",
        "task done 2",
    ):
        assert "refused" not in await say(running, channel, text)
    await close_with_form(running, channel, user="U0BOB", summary="First fix")
    await say(running, channel, "reopen the attacker is back", user="U0BOB")
    await close_with_form(running, channel, user="U0BOB")
    async with running.bk.db.sessions() as session:
        row = await incident_store.get(session=session, number=1)
        assert row is not None and row.status == "closed" and row.severity == "sev1"
        roles = await incident_store.current_roles(session=session, incident_id=row.id)
    assert roles == {"commander": "U0BOB", "deputy": "U0CAROL"}


@dataclass
class Closed:
    db: Database
    audit: Audit


@pytest.fixture(scope="module")
def closed_source(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("closed")
    with built_database(template_database, folder, closed_incident) as source:
        yield source


@pytest.fixture
async def closed(
    closed_source: str,
    tmp_path: Path,
) -> AsyncIterator[Closed]:
    """A copy of the closed incident's database, and its audit."""
    url = await copy_database(closed_source, tmp_path)
    db = Database(url)
    try:
        yield Closed(db, auditor(url))
    finally:
        await db.dispose()
        await drop_database(url)


async def test_a_closed_incident_with_roles_tasks_and_reports_verifies(closed: Closed) -> None:
    verdict = await closed.audit()
    assert verdict.returncode == 0, verdict.stdout
    assert "roles, tasks, close records and stored reports agree" in verdict.stdout
    assert verdict.stderr == ""


WHEN = datetime(2020, 1, 1, tzinfo=UTC)
TAMPERING: dict[str, tuple[Executable, str]] = {
    "title": (
        sql("UPDATE incidents SET title = 'Nothing happened' WHERE number = 1"),
        'title: the timeline says "Suspicious login", the incident row says "Nothing happened"',
    ),
    "severity": (update(Incident).values(severity="sev4"), 'severity: the timeline says "sev1"'),
    "initial severity": (
        update(Incident).values(initial_severity="sev1"),
        'initial_severity: the timeline says "sev2", the incident row says "sev1"',
    ),
    "stage": (update(Incident).values(stage="detect"), 'stage: the timeline says "assess"'),
    "status": (update(Incident).values(status="open"), 'status: the timeline says "closed"'),
    "private": (update(Incident).values(private=True), "private: the timeline says false"),
    "declared by": (update(Incident).values(declared_by="U0DAVE"), "declared_by:"),
    "detected at": (update(Incident).values(detected_at=WHEN), "detected_at:"),
    "impact": (update(Incident).values(impact={}), 'impact: the timeline says {"availability"'),
    "summary": (
        update(Incident).values(resolution_summary="Nothing to see"),
        'resolution_summary: the timeline says "Rotated the leaked key',
    ),
    "root cause": (
        sql("UPDATE incidents SET root_cause = 'Cosmic rays'"),
        'root_cause: the timeline says "An API key committed to a public repository.", '
        'the incident row says "Cosmic rays"',
    ),
    "went well": (update(Incident).values(went_well="Everything"), "went_well:"),
    "to improve": (update(Incident).values(to_improve=None), "to_improve:"),
    "disposition": (
        update(Incident).values(disposition="false_positive"),
        'disposition: the timeline says "resolved", the incident row says "false_positive"',
    ),
    "follow-ups": (update(Incident).values(follow_ups=[]), "follow_ups: the timeline says [{"),
    "closed by": (update(Incident).values(closed_by="U0DAVE"), "closed_by:"),
    "closed at": (update(Incident).values(closed_at=WHEN), "closed_at:"),
    "commander": (
        sql(
            "UPDATE role_assignments SET user_id = 'U0DAVE' WHERE role = 'commander' "
            "AND ended_at IS NULL"
        ),
        'role commander: the timeline says "U0BOB", role_assignments says "U0DAVE"',
    ),
    "role history": (
        update(RoleAssignment).where(RoleAssignment.ended_at.is_not(None)).values(user_id="U0X"),
        "role assignment 1: the timeline says commander U0ALICE",
    ),
    "role dropped": (
        delete(RoleAssignment).where(RoleAssignment.role == "deputy"),
        'role deputy: the timeline says "U0CAROL", role_assignments says nothing',
    ),
    "task text": (
        sql("UPDATE tasks SET text = 'nothing to do' WHERE number = 1"),
        'task 1 text: the timeline says "rotate the keys", tasks says "nothing to do"',
    ),
    "task owner": (update(Task).values(owner="U0DAVE"), 'task 1 owner: the timeline says "U0BOB"'),
    "task undone": (
        update(Task).where(Task.number == 2).values(done_at=None, done_by=None),
        "task 2 done: the timeline says true, tasks says false",
    ),
    "task deleted": (
        delete(Task).where(Task.number == 2),
        'task 2: the timeline says "tell the customers", tasks says nothing',
    ),
    "report body": (
        update(Report).where(Report.format == "md").values(body="# Nothing happened\n"),
        "report version 1 (md): its content does not match its sha256",
    ),
    "severity history": (
        update(TimelineEntry).where(TimelineEntry.kind == "severity_changed").values(text="n/a"),
        "entry 2: MODIFIED: content does not match its hash",
    ),
}


@pytest.mark.parametrize("what", list(TAMPERING))
async def test_each_thing_the_report_shows_changed_with_sql_is_found(
    closed: Closed, what: str
) -> None:
    statement, expected = TAMPERING[what]
    async with closed.db.transaction() as session:
        await session.execute(statement)
    verdict = await closed.audit()
    assert verdict.returncode == 1, verdict.stdout
    assert expected in verdict.stdout, verdict.stdout
    assert "incident 1" in verdict.stdout and "TAMPERED" in verdict.stdout


async def as_version_1(db: Database, number: int = 1) -> None:
    """Rewrite incident `number` as bridgekeeper wrote it before chain versions: chained from the
    shared genesis, the close entry keeping only the disposition and a count of follow-ups."""
    async with db.transaction() as session:
        incident = await session.scalar(select(Incident).where(Incident.number == number))
        assert incident is not None
        prev, rehashed = GENESIS, {}
        for row in await incident_store.timeline(session=session, incident_id=incident.id):
            data = dict(row.data)
            if row.kind == "closed":
                data = {"disposition": data["disposition"], "follow_ups": 1}
            digest = entry_hash(
                prev_hash=prev,
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                kind=row.kind,
                text=row.text,
                data=data,
            )
            rehashed[row.hash] = digest
            row.data, row.prev_hash, row.hash, prev = data, prev, digest, digest
        incident.chain_version, incident.timeline_head = 1, prev
        for report in await session.scalars(select(Report)):
            report.timeline_head = rehashed[report.timeline_head]


async def test_chains_written_before_chain_versions_still_verify(closed: Closed) -> None:
    await as_version_1(closed.db)
    verdict = await closed.audit()
    assert verdict.returncode == 0, verdict.stdout
    async with closed.db.transaction() as session:
        await session.execute(update(Incident).values(title="Nothing happened"))
    assert 'title: the timeline says "Suspicious login"' in (await closed.audit()).stdout


async def test_a_chain_version_changed_with_sql_is_found(closed: Closed) -> None:
    async with closed.db.transaction() as session:
        await session.execute(update(Incident).values(chain_version=1))
    verdict = await closed.audit()
    assert verdict.returncode == 1 and "incident 1, entry 1: MOVED" in verdict.stdout
