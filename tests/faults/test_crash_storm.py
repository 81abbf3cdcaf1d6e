"""kill -9 during an alert storm: every alert that was answered 202 is still there after restart.

A 202 means "stored": the intake commits before it answers. Twenty senders post Alertmanager
webhooks to a real `bridgekeeper serve` process until it is killed mid-storm; the database is then
read directly and after a restart.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Alert
from tests.conftest import ALERT_TOKEN
from tests.faults.servers import Server, wait_for

pytestmark = pytest.mark.faults
SENDERS = 20
KEYS = 25
KILL_AFTER = 150  # accepted alerts before the kill


@pytest.fixture
async def server(db_url: str, emulator: SlackEmulator, tmp_path: Path) -> AsyncIterator[Server]:
    emulator.add_channel("alert-triage", members=["UBOT"])
    triage = next(iter(emulator.channels))
    serving = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "server.log",
        env={"BRIDGEKEEPER_TRIAGE_CHANNEL": triage},
    )
    yield serving
    await serving.stop()


def webhook(n: int) -> bytes:
    """One firing alert; 25 fingerprints, so most posts repeat an alert (its count goes up)."""
    item = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": f"db-{n % KEYS}:9100"},
        "annotations": {"summary": f"Disk full on db-{n % KEYS}", "sample": str(n)},
        "startsAt": "2026-01-01T09:00:00Z",
        "fingerprint": f"storm-{n % KEYS}",
    }
    return json.dumps({"status": "firing", "receiver": "bridgekeeper", "alerts": [item]}).encode()


class Storm:
    def __init__(self, url: str) -> None:
        self.url = f"{url}/alerts/alertmanager"
        self.next = 0
        self.accepted: Counter[str] = Counter()
        self.unanswered = 0
        self.other: list[int] = []

    async def sender(self, session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {ALERT_TOKEN}", "Content-Type": "application/json"}
        while True:
            n, self.next = self.next, self.next + 1
            try:
                async with session.post(self.url, data=webhook(n), headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                self.unanswered += 1
                return  # the server is gone
            if status == 202:
                self.accepted[f"alertmanager:storm-{n % KEYS}"] += 1
            else:
                self.other.append(status)


async def stored(db_url: str) -> dict[str, int]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            rows = (await session.execute(select(Alert.dedup_key, Alert.occurrences))).all()
    finally:
        await db.dispose()
    counts: Counter[str] = Counter()
    for key, occurrences in rows:
        counts[key] += occurrences
    return dict(counts)


async def test_killed_mid_storm_loses_no_accepted_alert(server: Server, db_url: str) -> None:
    await server.start()
    storm = Storm(server.url)
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=SENDERS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        senders = [asyncio.create_task(storm.sender(session)) for _ in range(SENDERS)]
        await wait_for(lambda: storm.accepted.total() >= KILL_AFTER, timeout=60)
        server.kill()
        await asyncio.gather(*senders)

    assert storm.other == []
    assert storm.unanswered == SENDERS  # every sender was cut off mid-request
    after_kill = await stored(db_url)
    for key, count in storm.accepted.items():
        assert after_kill.get(key, 0) >= count, key
    # at most the requests in flight at the kill were stored without being answered
    assert 0 <= sum(after_kill.values()) - storm.accepted.total() <= SENDERS

    await server.start()
    assert await stored(db_url) == after_kill
    await _post_one_more(server.url)
    assert sum((await stored(db_url)).values()) == sum(after_kill.values()) + 1


async def _post_one_more(url: str) -> None:
    headers: dict[str, Any] = {"Authorization": f"Bearer {ALERT_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/alerts/alertmanager", data=webhook(10_000), headers=headers) as r,
    ):
        assert r.status == 202
