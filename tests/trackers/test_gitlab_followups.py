"""Follow-ups land in GitLab issues once, against the GitLab emulator: a lost answer, server
errors and refusals never make two; state comes back through the Issue Hook or the poll."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.sandbox.trackers import GitLabEmulator
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

PROJECT = "42"
TOKEN = "glpat-test"
SECRET = "gitlab-hook-token"
__all__ = ["start"]  # the fixture, shared


@pytest.fixture
async def gitlab() -> AsyncIterator[GitLabEmulator]:
    emulator = GitLabEmulator(token=TOKEN, webhook_token=SECRET)
    emulator.add_project(PROJECT)
    await emulator.start()
    yield emulator
    await emulator.stop()


def tracker(gitlab: GitLabEmulator, **changes: str) -> TrackerSettings:
    values: dict[str, str] = {"project": PROJECT, "token": TOKEN, **changes}
    return TrackerSettings(
        kind="gitlab",
        url=gitlab.url,
        webhook_secret=SECRET,
        labels=("incident", "followup"),
        users={"U0BOB": "7"},
        poll_minutes=0,
        **values,
    )


async def test_followups_become_gitlab_issues_once_and_come_back_closed(
    start: Start, gitlab: GitLabEmulator
) -> None:
    gitlab.lose_answers(1)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(gitlab))
    gitlab.webhook_url = f"{app.url}/trackers/gitlab"
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert <@U0BOB> followup")
    await say(app, channel, "task Document the failover followup")
    # a lost answer holds the lane until its retry: no waiting for the lane here
    assert (await app.command("followups export", channel=channel.id)).status == 200
    await retried_until(app, clock, lambda: created(app, 2))
    first, second = gitlab.issues(PROJECT)
    assert len(gitlab.issues(PROJECT)) == 2
    assert first["labels"] == ["incident", "followup", "bridgekeeper-1-1"]
    assert first["assignees"] == [{"id": 7}] and second["assignees"] == []

    assert await gitlab.close(PROJECT, 1) == 200
    gitlab.webhook_url = None
    await gitlab.close(PROJECT, 2)
    assert await app.bk.followup_sync.poll() == 1
    assert [(row.key, row.state, row.done) for row in await followups(app)] == [
        ("1", "closed", True),
        ("2", "closed", True),
    ]
    listed = await say(app, channel, "followups")
    assert listed.count("closed :white_check_mark:") == 2


async def test_server_errors_are_retried_once_created(start: Start, gitlab: GitLabEmulator) -> None:
    gitlab.fail(500, times=2)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(gitlab))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await retried_until(app, clock, lambda: created(app, 1))
    assert len(gitlab.issues(PROJECT)) == 1


@pytest.mark.parametrize(
    ("changes", "error"), [({"token": "wrong"}, "HTTP 401"), ({"project": "99"}, "HTTP 404")]
)
async def test_refusals_are_parked_and_create_nothing(
    start: Start, gitlab: GitLabEmulator, changes: dict[str, str], error: str
) -> None:
    app = await start(trackers=tracker(gitlab, **changes))
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
    assert gitlab.issues(PROJECT) == []


async def test_a_webhook_without_the_token_is_refused(start: Start, gitlab: GitLabEmulator) -> None:
    app = await start(trackers=tracker(gitlab))
    gitlab.webhook_url, gitlab.webhook_token = f"{app.url}/trackers/gitlab", "guess"
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 1))
    assert await gitlab.close(PROJECT, 1) == 401
    assert [row.state for row in await followups(app)] == ["opened"]
