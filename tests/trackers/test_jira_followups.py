"""Follow-ups land in Jira once, against the Jira emulator (REST v3, Atlassian Document
Format, Basic auth); state comes back through `jira:issue_updated` or the poll."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.sandbox.trackers import JiraEmulator
from bridgekeeper.store.models import Effect
from tests.alerting import LaterClock
from tests.trackers.test_github_followups import (
    Start,
    created,
    declare,
    followups,
    retried_until,
    say,
    start,
    wait_until,
)

EMAIL = "bot@example.com"
BOB = "5b10ac8d82e05b22cc7d4ef5"  # a Jira accountId
TOKEN = "jira-api-token"
SECRET = "jira-webhook-secret"
__all__ = ["start"]  # the fixture, shared


@pytest.fixture
async def jira() -> AsyncIterator[JiraEmulator]:
    emulator = JiraEmulator(token=TOKEN, email=EMAIL, webhook_secret=SECRET)
    emulator.add_project("OPS")
    await emulator.start()
    yield emulator
    await emulator.stop()


def tracker(jira: JiraEmulator, **changes: str) -> TrackerSettings:
    values: dict[str, str] = {"project": "OPS", "token": TOKEN, **changes}
    return TrackerSettings(
        kind="jira",
        url=jira.url,
        email=EMAIL,
        webhook_secret=SECRET,
        labels=("incident-followup",),
        users={"U0BOB": BOB},
        poll_minutes=0,
        **values,
    )


async def test_followups_become_jira_issues_once_and_come_back_done(
    start: Start, jira: JiraEmulator
) -> None:
    jira.lose_answers(1)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(jira))
    jira.webhook_url = f"{app.url}/trackers/jira"
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert <@U0BOB> followup")
    await say(app, channel, "task Document the failover followup")
    # a lost answer holds the lane until its retry: no waiting for the lane here
    assert (await app.command("followups export", channel=channel.id)).status == 200
    await retried_until(app, clock, lambda: created(app, 2))
    first, second = jira.issues("OPS")
    assert len(jira.issues("OPS")) == 2
    fields = first["fields"]
    assert fields["summary"] == "Add replica lag alert (incident 1)"
    assert fields["labels"] == ["incident-followup", "bridgekeeper-1-1"]
    assert fields["assignee"] == {"accountId": BOB}
    assert fields["issuetype"] == {"name": "Task"}
    texts = [node["content"][0]["text"] for node in fields["description"]["content"]]
    assert texts[:2] == ["Follow-up of incident 1: Database failover.", "Add replica lag alert"]
    assert "assignee" not in second["fields"]
    rows = await followups(app)
    assert [(r.key, r.url, r.state) for r in rows] == [
        ("OPS-1", f"{jira.url}/browse/OPS-1", "To Do"),
        ("OPS-2", f"{jira.url}/browse/OPS-2", "To Do"),
    ]

    assert await jira.transition("OPS-1", "Done") == 200
    jira.webhook_url = None
    await jira.transition("OPS-2", "In Progress")
    assert await app.bk.followup_sync.poll() == 1
    assert [(r.state, r.done) for r in await followups(app)] == [
        ("Done", True),
        ("In Progress", False),
    ]
    markdown = await app.bk.reports.draft(1, "md")
    assert markdown is not None and "jira #OPS-1" in markdown and "): Done" in markdown


@pytest.mark.parametrize(
    ("changes", "error"), [({"token": "wrong"}, "HTTP 401"), ({"project": "NOPE"}, "HTTP 400")]
)
async def test_refusals_are_parked_and_create_nothing(
    start: Start, jira: JiraEmulator, changes: dict[str, str], error: str
) -> None:
    app = await start(trackers=tracker(jira, **changes))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")

    async def parked() -> list[str | None]:
        async with app.bk.db.sessions() as session:
            return list(
                await session.scalars(select(Effect.last_error).where(Effect.status == "parked"))
            )

    await wait_until(parked)
    assert await parked() == [error]
    assert jira.issues("OPS") == []


async def test_an_outage_is_waited_out(start: Start, jira: JiraEmulator) -> None:
    jira.fail(503, times=2)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(jira))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await retried_until(app, clock, lambda: created(app, 1))
    assert len(jira.issues("OPS")) == 1


async def test_a_deleted_issue_does_not_stop_the_poll_of_the_others(
    start: Start, jira: JiraEmulator
) -> None:
    """Jira answers a deleted issue 404: the poll goes on to the next, whose state it reads
    (it stopped there, every pass, and every later follow-up stayed as it was)."""
    app = await start(trackers=tracker(jira))
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert followup")
    await say(app, channel, "task Document the failover followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 2), timeout=30)
    jira.projects["OPS"].pop(0)  # someone deletes OPS-1 in Jira
    await jira.transition("OPS-2", "Done")  # no webhook configured: only the poll sees it
    await app.bk.followup_sync.poll()
    _, second = await followups(app)
    assert (second.key, second.state, second.done) == ("OPS-2", "Done", True)
