"""Follow-ups land in Jira Data Center once, against the Jira emulator in its Data Center mode
(REST v2, wiki markup descriptions, a personal access token as Bearer, usernames); state comes
back through the webhook (authenticated by the secret in its URL) or the poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.sandbox.trackers import JiraEmulator
from bridgekeeper.store import outbox
from bridgekeeper.store.models import Effect
from tests.alerting import LaterClock
from tests.conftest import Running
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

PAT = "jira-dc-personal-access-token"
SECRET = "jira-dc-webhook-secret"
__all__ = ["start"]  # the fixture, shared


@pytest.fixture
async def jira() -> AsyncIterator[JiraEmulator]:
    emulator = JiraEmulator(token=PAT, datacenter=True)
    emulator.add_project("OPS")
    await emulator.start()
    yield emulator
    await emulator.stop()


def tracker(jira: JiraEmulator, **changes: object) -> TrackerSettings:
    settings = TrackerSettings(
        kind="jira-dc",
        url=jira.url,
        project="OPS",
        token=PAT,
        webhook_secret=SECRET,
        labels=("incident-followup",),
        users={"U0BOB": "bob.smith"},
        poll_minutes=0,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


async def parked(app: Running) -> list[Effect]:
    async with app.bk.db.sessions() as session:
        return await outbox.parked(session)


async def test_followups_become_issues_once_with_usernames_and_wiki_text(
    start: Start, jira: JiraEmulator
) -> None:
    jira.lose_answers(1)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(jira))
    channel = await declare(app)
    text = r"Fix [the link|https://evil.example] {html} *now* \[~admin]"
    await say(app, channel, f"task {text} <@U0BOB> followup")
    await say(app, channel, "task Document the failover followup")
    # a lost answer holds the lane until its retry: no waiting for the lane here
    assert (await app.command("followups export", channel=channel.id)).status == 200
    await retried_until(app, clock, lambda: created(app, 2))
    first, second = jira.issues("OPS")
    assert jira.creations() == 2  # the retry after the lost answer found the issue by its label
    assert ("GET", "/rest/api/2/search") in jira.calls
    assert all(path.startswith("/rest/api/2/") for _, path in jira.calls)
    fields = first["fields"]
    assert fields["assignee"] == {"name": "bob.smith"}
    assert fields["labels"] == ["incident-followup", "bridgekeeper-1-1"]
    description = fields["description"]
    assert description.startswith("Follow-up of incident 1: Database failover.\n\n")
    escaped = r"Fix \[the link\|https://evil.example\] \{html\} \*now\* &#92;\[\~admin\]"
    assert escaped in description
    assert "[the link|" not in description and "{html}" not in description
    assert "assignee" not in second["fields"]
    rows = await followups(app)
    assert [(r.key, r.url, r.state) for r in rows] == [
        ("OPS-1", f"{jira.url}/browse/OPS-1", "To Do"),
        ("OPS-2", f"{jira.url}/browse/OPS-2", "To Do"),
    ]


async def test_state_comes_back_and_the_report_shows_it(start: Start, jira: JiraEmulator) -> None:
    app = await start(trackers=tracker(jira))
    jira.webhook_url = f"{app.url}/trackers/jira-dc?secret={SECRET}"
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert followup")
    await say(app, channel, "task Document the failover followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 2), timeout=30)

    assert await jira.transition("OPS-1", "Done") == 200
    jira.webhook_url = None  # no webhook: the poll reads it
    await jira.transition("OPS-2", "In Progress")
    assert await app.bk.followup_sync.poll() == 1
    assert [(r.state, r.done) for r in await followups(app)] == [
        ("Done", True),
        ("In Progress", False),
    ]
    assert "Done :white_check_mark:" in await say(app, channel, "followups")
    markdown = await app.bk.reports.draft(1, "md")
    assert markdown is not None and "jira-dc #OPS-1" in markdown and "): Done" in markdown


@pytest.mark.parametrize("query", ["", "?secret=not-the-secret"])
async def test_a_webhook_without_the_secret_is_refused(
    start: Start, jira: JiraEmulator, query: str
) -> None:
    app = await start(trackers=tracker(jira))
    jira.webhook_url = f"{app.url}/trackers/jira-dc{query}"
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 1), timeout=30)
    assert await jira.transition("OPS-1", "Done") == 401
    [row] = await followups(app)
    assert (row.state, row.done) == ("To Do", False)


async def test_bad_credentials_are_shown_and_retried_once_fixed(
    start: Start, jira: JiraEmulator
) -> None:
    jira.token = "a-revoked-token"
    app = await start(trackers=tracker(jira))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: parked(app))
    [effect] = await parked(app)
    assert effect.kind == "tracker_issue" and effect.last_error == "HTTP 401"
    assert "could not be created in the tracker (HTTP 401)" in await say(app, channel, "timeline")
    assert jira.issues("OPS") == []

    jira.token = PAT  # the token is valid again; the operator retries the parked effect
    async with app.bk.db.transaction() as session:
        assert await outbox.retry(session, now=app.bk.clock.now()) == 1
    await wait_until(lambda: created(app, 1), timeout=30)
    assert [i["key"] for i in jira.issues("OPS")] == ["OPS-1"]


async def test_an_unknown_project_is_parked(start: Start, jira: JiraEmulator) -> None:
    app = await start(trackers=tracker(jira, project="NOPE"))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: parked(app))
    assert [e.last_error for e in await parked(app)] == ["HTTP 400"]
    assert jira.issues("OPS") == []


async def test_an_outage_is_waited_out(start: Start, jira: JiraEmulator) -> None:
    jira.fail(503, times=2)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(jira))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await retried_until(app, clock, lambda: created(app, 1))
    assert len(jira.issues("OPS")) == 1 and await parked(app) == []
