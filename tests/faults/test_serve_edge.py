"""A real `bridgekeeper serve` process: its log keeps rejected bodies out, holds one record per
line, each of bounded length, and a bad [http] setting stops it with one line naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bridgekeeper.logs import MAX_MESSAGE
from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from tests.conftest import SIGNING_SECRET
from tests.faults.servers import Server, wait_for

pytestmark = pytest.mark.faults
MARKER = "rejected-body-marker-"
FORGED = "2099-01-01 00:00:00,000 WARNING bridgekeeper: forged"
LINE_LIMIT = MAX_MESSAGE + 200  # the message plus time, level, logger name and the cut note


async def test_a_serve_process_logs_no_rejected_body_and_only_bounded_lines(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    server = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "serve.log",
        env={"LOG_LEVEL": "DEBUG"},
    )
    general = emulator.add_channel("general", members=["U0ALICE"])
    try:
        await server.start()
        await _send_rejected_bodies(server.url)
        driver = SlackDriver(emulator, f"{server.url}/slack/events", SIGNING_SECRET)
        event = {
            "type": "app_mention",
            "user": "U0ALICE",
            "text": "hi",
            "channel": general,
            "ts": "1.000001",
            "event_ts": "1.000001",
        }
        for retry in (None, 1):  # the redelivery is logged with its event id
            await driver.event(event, event_id=f"Ev1\n{FORGED}\r", retry_num=retry)
        title = "Long " + "title " * 2_000 + "\n" + FORGED
        assert (await driver.command(f"declare {title}", user="U0ALICE", channel=general)).status
        await wait_for(lambda: emulator.calls_to("chat.postMessage"))  # the card, with the title
        await wait_for(lambda: "chat.postMessage" in server.output())
    finally:
        await server.stop()
    lines = server.output().splitlines()
    assert any("delivered again" in line for line in lines)
    assert any("forged" in line for line in lines)  # logged, escaped on its record's line
    assert not [line for line in lines if line.startswith(FORGED[:10])]
    assert MARKER not in server.output()
    too_long = [len(line) for line in lines if len(line) > LINE_LIMIT]
    assert too_long == []
    assert any("… [" in line for line in lines), "no long message was logged (and cut)"


async def _send_rejected_bodies(url: str) -> None:
    body = (MARKER + "x" * 1_000_000).encode()
    forged = {"X-Slack-Signature": "v0=" + "0" * 64, "X-Slack-Request-Timestamp": "1"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/slack/events", data=body, headers=forged) as r:
            assert r.status == 401
        async with session.post(
            f"{url}/alerts/generic", data=body, headers={"Authorization": "Bearer wrong"}
        ) as r:
            assert r.status == 401


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('header_timeout_seconds = "soon"', "http.header_timeout_seconds"),
        ("max_connections = 0", "http.max_connections"),
        ("keepalive_timeout_seconds = -1", "http.keepalive_timeout_seconds"),
    ],
)
def test_a_bad_http_setting_stops_serve_with_one_line_naming_it(
    tmp_path: Path, setting: str, key: str
) -> None:
    config = tmp_path / "bridgekeeper.toml"
    config.write_text(f"[http]\n{setting}\n")
    env = Server(
        db_url="sqlite:///unused.db", api_url="http://127.0.0.1:9/api/", log=tmp_path / "serve.log"
    ).env | {"BRIDGEKEEPER_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-m", "bridgekeeper", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert key in line
