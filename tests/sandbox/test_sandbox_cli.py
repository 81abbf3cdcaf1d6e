"""`bridgekeeper sandbox` as a command: it prints its address, serves the page, and stops on
Ctrl-C without a traceback; the example alerts it sends are ones bridgekeeper accepts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys

import aiohttp

from bridgekeeper.domain.alerts.parse import SOURCES
from bridgekeeper.sandbox.client import actions, start_sandbox
from tests.helpers import settle

URL = re.compile(rb"http://127\.0\.0\.1:\d+")


async def test_sandbox_prints_its_address_serves_the_page_and_stops_on_ctrl_c() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridgekeeper",
        "sandbox",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    found = URL.search(line)
    assert found, line
    async with aiohttp.ClientSession() as session, session.get(found.group().decode()) as page:
        assert page.status == 200
        assert "bridgekeeper sandbox" in await page.text()
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"Traceback" not in out
    assert b"stopped" in out


async def test_every_alert_source_has_an_example_bridgekeeper_accepts() -> None:
    assert set(actions.example_sources()) == set(SOURCES)
    sandbox = await start_sandbox(port=0)
    try:
        for source in actions.example_sources():
            answer = await actions.send_alert(sandbox, source=source)
            assert answer["status"] == 202, (source, answer)
    finally:
        await sandbox.stop()


async def test_another_site_can_neither_drive_nor_read_the_client() -> None:
    sandbox = await start_sandbox(port=0)
    command = {"user": "U0ALICE", "channel": sandbox.triage, "text": "/incident declare X sev1"}
    try:
        async with aiohttp.ClientSession() as session:
            refused = [
                session.post(
                    f"{sandbox.url}/api/command",
                    json=command,
                    headers={"Origin": "http://evil.example"},
                ),
                session.post(
                    f"{sandbox.url}/api/command",
                    data=json.dumps(command),
                    headers={"Content-Type": "text/plain"},
                ),
                session.get(
                    f"{sandbox.url}/api/state?user=U0ALICE", headers={"Host": "rebound.example:80"}
                ),
            ]
            for request in refused:
                async with request as response:
                    assert response.status == 403, await response.text()
            own = {"Origin": sandbox.url}
            async with session.post(
                f"{sandbox.url}/api/command", json=command, headers=own
            ) as response:
                assert response.status == 200, await response.text()
        await settle(sandbox.bk, timeout=30)  # the declared incident's channel, created
        bridges = [c.name for c in sandbox.slack.channels.values() if c.name.startswith("inc-")]
    finally:
        await sandbox.stop()
    assert bridges == ["inc-1-x"]  # the one sent from the client's own page, and no other
