"""Follow-ups land in GitHub Issues once, through signed Slack commands and the GitHub
emulator; their state comes back through the webhook or the poll."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.sandbox.trackers import GitHubEmulator
from bridgekeeper.store.models import Effect, Followup, TimelineEntry
from tests.alerting import LaterClock
from tests.conftest import Running, bridgekeepers
from tests.services.test_close import close_values, close_with_form, open_close_form

REPO = "acme/ops"
TOKEN = "ghp-test-token"
SECRET = "webhook-secret"
Start = Callable[..., Awaitable[Running]]


async def wait_until(condition: Callable[[], Awaitable[object]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def retried_until(
    app: Running, clock: LaterClock, condition: Callable[[], Awaitable[object]]
) -> None:
    """Let the outbox's retries come due until `condition` holds: the clock moves on past each
    retry's wait (2 s, then 4 s...) while the test looks, instead of the test waiting it out."""
    async with asyncio.timeout(30):
        while not await condition():
            clock.advance(seconds=10)
            app.bk.worker.wake()
            await asyncio.sleep(0.02)


@pytest.fixture
async def github() -> AsyncIterator[GitHubEmulator]:
    emulator = GitHubEmulator(token=TOKEN, webhook_secret=SECRET)
    emulator.add_repo(REPO)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def start(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator) as starting:
        yield starting


def tracker(github: GitHubEmulator, **changes: object) -> TrackerSettings:
    settings = TrackerSettings(
        kind="github",
        url=github.url,
        project=REPO,
        token=TOKEN,
        webhook_secret=SECRET,
        labels=("incident-followup",),
        users={"U0BOB": "bob-gh"},
        poll_minutes=0,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


async def declare(app: Running) -> Channel:
    await app.command("declare Database failover sev2")
    await app.settle()
    return [c for c in app.slack.channels.values() if c.name.startswith("inc-")][-1]


async def say(app: Running, channel: Channel, text: str, user: str = "U0ALICE") -> str:
    reply = await app.command(text, user=user, channel=channel.id)
    await app.settle()
    assert reply.status == 200
    posts = [p.body for p in app.slack.response_posts if p.url == reply.response_url]
    return json.dumps([reply.body, *posts])


async def followups(app: Running) -> list[Followup]:
    async with app.bk.db.sessions() as session:
        return list(await session.scalars(select(Followup).order_by(Followup.id)))


async def created(app: Running, count: int) -> bool:
    rows = await followups(app)
    return len(rows) == count and all(row.key for row in rows)


async def test_followups_become_github_issues_once(start: Start, github: GitHubEmulator) -> None:
    app = await start(trackers=tracker(github))
    channel = await declare(app)
    added = await say(app, channel, "task Add replica lag alert <@U0BOB|bob> followup")
    assert "Task 1 added" in added and "as a follow-up" in added
    await say(app, channel, "task Restart the pool")  # an ordinary task stays here
    listed = await say(app, channel, "followups")
    assert "Add replica lag alert" in listed and "not in a tracker yet" in listed
    assert "Restart the pool" not in listed

    exported = await say(app, channel, "followups export")
    assert "Creating 1 issue in github" in exported
    await wait_until(lambda: created(app, 1))
    [issue] = github.issues(REPO)
    assert issue["title"] == "Add replica lag alert (incident 1)"
    assert {label["name"] for label in issue["labels"]} == {"incident-followup", "bridgekeeper-1-1"}
    assert issue["assignees"] == [{"login": "bob-gh"}]
    assert f"app_redirect?channel={channel.id}" in issue["body"]

    again = await say(app, channel, "followups export")
    assert "already has its github issue" in again
    await app.settle()
    assert len(github.issues(REPO)) == 1 and github.creations() == 1
    listed = await say(app, channel, "followups")
    assert "github.com/acme/ops/issues/1" in listed and "open" in listed
    timeline = await say(app, channel, "timeline")
    assert "sent follow-up task 1 to github" in timeline
    assert "Follow-up issue <https://github.com/acme/ops/issues/1|github #1> created" in timeline


def outside_code(markdown: str) -> str:
    """The HTML a Markdown renderer makes of `markdown`, code spans and blocks left out."""
    from markdown_it import MarkdownIt  # imported by the tests that use it

    html = MarkdownIt("commonmark", {"html": True}).render(markdown)
    return re.sub(r"<code>.*?</code>", "", html, flags=re.DOTALL)


async def test_what_people_typed_is_shown_in_the_issue_as_written(
    start: Start, github: GitHubEmulator
) -> None:
    """No mention (@all notifies a whole project), reference, image, link or emphasis from a
    task's text or an incident's title is read in the issue: they are shown as code."""
    app = await start(trackers=tracker(github))
    await app.command("declare Database **failover** on `db-1` sev2")
    await app.settle()
    channel = [c for c in app.slack.channels.values() if c.name.startswith("inc-")][-1]
    typed = "Ping @all and @acme/security: ![seen](https://t.example/p.png) see #12 <b>now</b>"
    await say(app, channel, f"task {typed} followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 1))
    [issue] = github.issues(REPO)
    assert typed in issue["body"] and "db-1" in issue["body"]
    shown = outside_code(issue["body"])
    for read in ("@all", "@acme", "<img", "#12", "<b>", "<strong>", "db-1"):
        assert read not in shown, read


async def test_a_lost_answer_and_a_restart_never_create_two(
    start: Start, github: GitHubEmulator
) -> None:
    github.lose_answers(1)
    first = await start(trackers=tracker(github))
    channel = await declare(first)
    await say(first, channel, "task Rotate the keys followup")
    await say(first, channel, "followups export")

    async def tried() -> bool:
        return github.creations() == 1 and all(r.called for r in await followups(first))

    await wait_until(tried)
    await first.stop()  # the answer was lost; the process stops before the retry
    clock = LaterClock()
    second = await start(clock, trackers=tracker(github))
    await retried_until(second, clock, lambda: created(second, 1))
    assert len(github.issues(REPO)) == 1 and github.creations() == 1
    [row] = await followups(second)
    assert row.key == "1" and row.url == "https://github.com/acme/ops/issues/1"


async def test_server_errors_are_retried_without_duplicates(
    start: Start, github: GitHubEmulator
) -> None:
    github.fail(503, times=2)
    clock = LaterClock()
    app = await start(clock, trackers=tracker(github))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await retried_until(app, clock, lambda: created(app, 1))
    assert len(github.issues(REPO)) == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [({"token": "wrong"}, "HTTP 401"), ({"project": "acme/missing"}, "HTTP 404")],
)
async def test_bad_credentials_or_unknown_project_are_reported(
    start: Start, github: GitHubEmulator, changes: dict[str, str], error: str
) -> None:
    app = await start(trackers=tracker(github, **changes))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")

    async def parked() -> list[Effect]:
        async with app.bk.db.sessions() as session:
            found = await session.scalars(select(Effect).where(Effect.status == "parked"))
            return list(found)

    await wait_until(parked)
    [effect] = await parked()
    assert effect.kind == "tracker_issue" and effect.last_error == error
    timeline = await say(app, channel, "timeline")
    assert f"could not be created in the tracker ({error})" in timeline
    assert github.issues("acme/ops") == []


async def test_state_comes_back_by_webhook_and_by_poll(
    start: Start, github: GitHubEmulator
) -> None:
    app = await start(trackers=tracker(github))
    github.webhook_url = f"{app.url}/trackers/github"
    channel = await declare(app)
    await say(app, channel, "task First followup")
    await say(app, channel, "task Second followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 2))

    assert await github.close(REPO, 1, reason="not_planned") == 200
    [first, second] = await followups(app)
    assert (first.state, first.done) == ("closed as not planned", True)  # closed: not followed
    assert (second.state, second.done) == ("open", False)

    github.webhook_url = None  # no webhook: the poll reads it
    await github.close(REPO, 2)
    assert await app.bk.followup_sync.poll() == 1
    [_, second] = await followups(app)
    assert (second.state, second.done) == ("closed", True)
    listed = await say(app, channel, "followups")
    assert "#1>, closed as not planned :white_check_mark:" in listed
    assert "#2>, closed :white_check_mark:" in listed
    async with app.bk.db.sessions() as session:
        kinds = list(await session.scalars(select(TimelineEntry.kind)))
    assert kinds.count("followup_state") == 2


async def test_a_forged_webhook_is_refused(start: Start, github: GitHubEmulator) -> None:
    app = await start(trackers=tracker(github))
    github.webhook_url = f"{app.url}/trackers/github"
    github.webhook_secret = "not-the-secret"
    channel = await declare(app)
    await say(app, channel, "task First followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 1))
    assert await github.close(REPO, 1) == 401
    [row] = await followups(app)
    assert row.state == "open"


async def test_followups_of_a_private_incident_do_not_exist_for_others(
    start: Start, github: GitHubEmulator
) -> None:
    app = await start(trackers=tracker(github))
    await app.command("declare Insider case sev2 private")
    await app.settle()
    outsider = await app.command("followups #1", user="U0DAVE")
    missing = await app.command("followups #9", user="U0DAVE")
    await app.settle()

    def answer(reply: object) -> str:
        url = reply.response_url  # type: ignore[attr-defined]
        return json.dumps([p.body for p in app.slack.response_posts if p.url == url])

    said, nothing = answer(outsider), answer(missing)
    assert "There is no incident 1" in said
    assert said == nothing.replace("incident 9", "incident 1")


async def test_export_without_a_tracker_is_refused(start: Start) -> None:
    app = await start()
    channel = await declare(app)
    await say(app, channel, "task Something followup")
    refused = await say(app, channel, "followups export")
    assert "No issue tracker is configured" in refused
    assert await followups(app) == []


async def test_closing_creates_the_issues_and_the_report_shows_their_state(
    start: Start, github: GitHubEmulator
) -> None:
    app = await start(trackers=tracker(github))
    github.webhook_url = f"{app.url}/trackers/github"
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert followup")
    await say(app, channel, "task Document the failover followup")
    await say(app, channel, "close Failed over to the replica")
    await wait_until(lambda: created(app, 2))
    assert [issue["title"] for issue in github.issues(REPO)] == [
        "Add replica lag alert (incident 1)",
        "Document the failover (incident 1)",
    ]
    await github.close(REPO, 2)

    markdown = await app.bk.reports.draft(1, "md")
    html = await app.bk.reports.draft(1, "html")
    assert markdown is not None and html is not None
    assert "follow-up [github #1](https://github.com/acme/ops/issues/1): open" in markdown
    assert "follow-up [github #2](https://github.com/acme/ops/issues/2): closed" in markdown
    assert '<a href="https://github.com/acme/ops/issues/2">github #2</a>: closed' in html


async def test_the_close_forms_tracker_box_turns_its_follow_ups_into_issues(
    start: Start, github: GitHubEmulator
) -> None:
    app = await start(trackers=tracker(github))
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert followup")
    view_id = await open_close_form(app, channel)
    blocks = {b.get("block_id"): b for b in app.slack.views[view_id].view["blocks"]}
    box = blocks["follow_ups_tracker"]["element"]
    assert box["type"] == "checkboxes" and "as github issues" in json.dumps(box["options"])
    values = close_values(follow_ups=(("U0BOB", "Enable secret scanning"), (None, "Rotate keys")))
    values["follow_ups_tracker"] = {
        "value": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
    }
    reply = await app.driver.view_submission(user="U0ALICE", view_id=view_id, values=values)
    assert reply.status == 200
    await wait_until(lambda: created(app, 3))
    titles = [(i["title"], i["assignees"]) for i in github.issues(REPO)]
    assert titles == [
        ("Add replica lag alert (incident 1)", []),
        ("Enable secret scanning (incident 1)", [{"login": "bob-gh"}]),
        ("Rotate keys (incident 1)", []),
    ]
    await app.settle()
    report = await app.bk.reports.stored(1, "md")
    assert report is not None
    actions = report.body.split("## Actions taken")[1].split("## Impact")[0]
    assert "Enable secret scanning" in actions and "Rotate keys" in actions  # the close's own


async def test_an_unticked_box_leaves_the_close_forms_follow_ups_out(
    start: Start, github: GitHubEmulator
) -> None:
    app = await start(trackers=tracker(github))
    channel = await declare(app)
    await close_with_form(app, channel)  # one follow-up in the form, the box not ticked
    await app.settle()
    assert await followups(app) == [] and github.issues(REPO) == []


async def test_an_issue_moved_to_another_repository_changes_only_its_own_follow_up(
    start: Start, github: GitHubEmulator
) -> None:
    """GitHub answers a transferred issue's old address with 301 to its new one, where it
    has another number: task 2's issue, moved and closed, is not task 1's issue #1 here."""
    github.add_repo("acme/platform")
    app = await start(trackers=tracker(github))
    channel = await declare(app)
    await say(app, channel, "task Add replica lag alert followup")
    await say(app, channel, "task Document the failover followup")
    await say(app, channel, "followups export")
    await wait_until(lambda: created(app, 2))
    moved = github.transfer(REPO, 2, "acme/platform")  # number 1 there
    await github.close("acme/platform", moved)
    await app.bk.followup_sync.poll()
    first, second = await followups(app)
    assert (first.key, first.state, first.done) == ("1", "open", False)
    assert (second.key, second.state, second.done) == ("2", "closed", True)


async def test_a_rate_limited_github_is_waited_out(start: Start, github: GitHubEmulator) -> None:
    """GitHub answers its rate limits 403 as well as 429 (with Retry-After): the follow-up
    waits and is created, not parked for an operator as a refusal."""
    github.limited = 1
    clock = LaterClock()
    app = await start(clock, trackers=tracker(github))
    channel = await declare(app)
    await say(app, channel, "task Add a runbook followup")
    await say(app, channel, "followups export")
    await retried_until(app, clock, lambda: created(app, 1))
    async with app.bk.db.sessions() as session:
        parked = await session.scalars(select(Effect).where(Effect.status == "parked"))
        assert list(parked) == []
    assert len(github.issues(REPO)) == 1
