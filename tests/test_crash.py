"""kill -9 of a real `bridgekeeper serve` process: after restart, exactly one channel and card."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect, Incident
from tests.conftest import BOT_TOKEN, SIGNING_SECRET

pytestmark = pytest.mark.faults


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m bridgekeeper serve` in a child process."""

    def __init__(self, *, db_url: str, api_url: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": db_url,
            "PORT": str(self.port),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bridgekeeper", "serve", "--host", "127.0.0.1"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self.spawn()
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not start:\n" + self.log.read_text())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
async def server(db_url: str, emulator: SlackEmulator, tmp_path: Path) -> AsyncIterator[Server]:
    first = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "server.log")
    yield first
    first.stop()


async def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def db_counts(db_url: str) -> tuple[int, int]:
    """(incidents, pending effects)"""
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            incidents = await session.scalar(select(func.count()).select_from(Incident))
            pending = await session.scalar(
                select(func.count()).select_from(Effect).where(Effect.status == "pending")
            )
        return int(incidents or 0), int(pending or 0)
    finally:
        await db.dispose()


def status_cards(slack: SlackEmulator) -> list[object]:
    return [
        m
        for c in slack.channels.values()
        for m in c.messages
        if "Incident 1:" in json.dumps(m.blocks)
    ]


async def declared_once(slack: SlackEmulator) -> bool:
    await wait_for(
        lambda: any(c.pins for c in slack.channels.values() if c.name.startswith("inc-1"))
    )
    await asyncio.sleep(0.5)  # anything doubled would show by now
    bridges = [c for c in slack.channels.values() if c.name.startswith("inc-1")]
    return len(bridges) == 1 and len(status_cards(slack)) == 1 and len(bridges[0].pins) == 1


async def test_killed_after_commit_before_slack_calls(
    server: Server, emulator: SlackEmulator, db_url: str
) -> None:
    emulator.add_channel("general", members=["U0ALICE"])
    await server.start()
    emulator.outage(503)  # commits happen, Slack calls cannot
    driver = SlackDriver(emulator, f"{server.url}/slack/events", SIGNING_SECRET)
    reply = await driver.command(
        "declare Suspicious login sev2", user="U0ALICE", channel=next(iter(emulator.channels))
    )
    assert reply.status == 200
    for _ in range(100):
        if (await db_counts(db_url))[0] == 1:
            break
        await asyncio.sleep(0.05)
    server.kill()
    incidents, pending = await db_counts(db_url)
    assert incidents == 1 and pending >= 4  # channel, invite, card, topic all still to do
    assert emulator.channel_by_name("inc-1-suspicious-login") is None

    emulator.recover()
    await server.start()
    assert await declared_once(emulator)
    channel = emulator.channel_by_name("inc-1-suspicious-login")
    assert channel is not None and "U0ALICE" in channel.members and "SEV2" in channel.topic


async def test_killed_while_slack_was_answering(
    server: Server, emulator: SlackEmulator, db_url: str
) -> None:
    """Slack posted the card but the answer never reached the bot: no second card on restart."""
    emulator.add_channel("general", members=["U0ALICE"])
    await server.start()
    emulator.delay("chat.postMessage", 60, times=1)  # applied at once, answered late
    driver = SlackDriver(emulator, f"{server.url}/slack/events", SIGNING_SECRET)
    await driver.command(
        "declare Suspicious login sev2", user="U0ALICE", channel=next(iter(emulator.channels))
    )
    await wait_for(lambda: len(status_cards(emulator)) == 1)
    server.kill()

    await server.start()
    assert await declared_once(emulator)
    assert len(emulator.calls_to("conversations.create")) == 1
