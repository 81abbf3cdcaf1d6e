"""A correctly signed tracker webhook whose JSON is not of the shape expected (nested past what
the parser takes, a Jira status whose category is not an object) is a 422 naming the problem,
never a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import Running, bridgekeepers

SECRET = "tracker-webhook-secret"
Tracker = Callable[[str], Awaitable[Running]]


@pytest.fixture
async def start(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Tracker]:
    async with bridgekeepers(db_url, emulator) as start:

        async def tracker(kind: str) -> Running:
            settings = TrackerSettings(
                kind=kind,
                url="http://127.0.0.1:9",
                project="OPS",
                token="tracker-token",
                email="bot@example.com",
                webhook_secret=SECRET,
                poll_minutes=0,
            )
            return await start(trackers=settings)

        yield tracker


async def send(app: Running, kind: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{app.url}/trackers/{kind}", data=body, headers=headers) as response,
    ):
        return response.status


def hub(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_deeply_nested_json_from_gitlab_is_422(start: Tracker) -> None:
    app = await start("gitlab")
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Issue Hook"}
    assert await send(app, "gitlab", body, headers) == 422


async def test_a_jira_status_category_that_is_not_an_object_is_422(start: Tracker) -> None:
    app = await start("jira")
    status = {"name": "Done", "statusCategory": "done"}
    issue = {"key": "OPS-1", "fields": {"status": status}}
    event = {"webhookEvent": "jira:issue_updated", "issue": issue}
    body = json.dumps(event).encode()
    assert await send(app, "jira", body, {"X-Hub-Signature": hub(body)}) == 422
