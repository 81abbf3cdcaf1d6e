"""A tracker's webhook is read whole, however its body arrives: a signed GitHub issue event whose
body comes in two TCP segments (a proxy, a slow link) is verified and answered 200."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import Running, bridgekeepers

SECRET = "tracker-webhook-secret"


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    trackers = TrackerSettings(
        kind="github",
        url="http://127.0.0.1:9",
        project="acme/ops",
        token="ghp-test",
        webhook_secret=SECRET,
        poll_minutes=0,
    )
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(trackers=trackers)


async def test_a_signed_webhook_whose_body_arrives_in_two_pieces_is_read_whole(
    app: Running,
) -> None:
    issue = {"number": 7, "state": "closed", "html_url": "https://github.com/acme/ops/issues/7"}
    body = json.dumps({"action": "closed", "issue": {**issue, "body": "x" * 4000}}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (
        "POST /trackers/github HTTP/1.1\r\nHost: bridgekeeper\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nX-GitHub-Event: issues\r\n"
        f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    address = urlsplit(app.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(head + body[:100])
    await writer.drain()
    await asyncio.sleep(0.3)  # the rest of the body comes a moment later
    writer.write(body[100:])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 200 "), answer.decode(errors="replace")[-300:]
