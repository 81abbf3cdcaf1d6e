"""The "Add as evidence" message shortcut: a shared file's name, size and SHA-256, downloaded
from the emulator's url_private_download with the bot token, as Slack serves it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bridgekeeper.sandbox.emulator import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from tests.conftest import BOT_TOKEN, Running, Start, bridgekeepers
from tests.services.test_close import declare, entries
from tests.services.test_evidence import register

CONTENT = b"GET /admin HTTP/1.1\r\nHost: web-3\r\n" * 1000
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
async def start(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator) as starting:
        yield starting


async def shortcut(running: Running, channel: Channel, ts: str, user: str = "U0BOB") -> str:
    reply = await running.driver.message_shortcut(
        user=user, callback_id="add_as_evidence", channel=channel.id, message_ts=ts
    )
    assert reply.status == 200
    await running.settle()
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return json.dumps(posts, ensure_ascii=False)


def share(running: Running, channel: Channel, content: bytes = CONTENT) -> str:
    return running.slack.share_user_file(channel.id, "U0ALICE", "access.log", content).ts


async def test_a_shared_file_is_recorded_with_its_name_size_and_hash(running: Running) -> None:
    channel = await declare(running)
    said = await shortcut(running, channel, share(running, channel))
    assert "Evidence 1 recorded" in said and SHA in said
    [item] = await register(running)
    assert (item.file_name, item.file_size, item.sha256) == ("access.log", len(CONTENT), SHA)
    assert item.collected_by == item.custodian == "U0BOB"
    assert item.location and "/files/" in item.location  # the file's permalink in Slack
    [added] = [e for e in await entries(running) if e.kind == "evidence_added"]
    assert added.data["sha256"] == SHA and added.data["unhashed"] is None


async def test_a_file_too_big_is_recorded_without_a_hash(start: Start) -> None:
    running = await start(evidence_max_file_bytes=1000)
    channel = await declare(running)
    said = await shortcut(running, channel, share(running, channel))
    assert "too big to download and hash" in said
    [item] = await register(running)
    assert item.sha256 is None and item.file_size == len(CONTENT)


async def test_an_unreachable_file_is_recorded_without_a_hash(running: Running) -> None:
    channel = await declare(running)
    ts = share(running, channel)
    running.slack.state.files.clear()  # deleted in Slack after it was shared
    said = await shortcut(running, channel, ts)
    assert "could not be downloaded" in said
    [item] = await register(running)
    assert item.sha256 is None and item.file_name == "access.log"


async def test_slacks_sign_in_page_is_not_taken_for_the_file(running: Running) -> None:
    """A bot token without files:read is answered 200 with Slack's sign-in page, not the file:
    its hash would have started the chain of custody wrong."""
    running.slack.bot_scopes.discard("files:read")
    channel = await declare(running)
    said = await shortcut(running, channel, share(running, channel))
    assert "could not be downloaded" in said
    [item] = await register(running)
    assert item.sha256 is None and item.file_size == len(CONTENT)


async def test_a_message_without_files_adds_nothing(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0ALICE", "look at this").ts
    assert "has no file" in await shortcut(running, channel, ts)
    assert await register(running) == []


async def test_outside_a_bridge_channel_nothing_is_downloaded(running: Running) -> None:
    general = running.slack.state.channels[running.general]
    said = await shortcut(running, general, share(running, general))
    assert "incident" in said and await register(running) == []


async def test_the_download_url_needs_the_bot_token(running: Running) -> None:
    channel = await declare(running)
    ts = share(running, channel)
    [message] = [m for m in running.slack.messages(channel.id) if m.ts == ts]
    url = message.files[0]["url_private_download"]
    async with aiohttp.ClientSession() as session:
        async with session.get(url, allow_redirects=False) as anonymous:
            assert anonymous.status == 302  # Slack sends those without the token to sign in
        headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
        async with session.get(url, headers=headers) as response:
            assert response.status == 200 and await response.read() == CONTENT
