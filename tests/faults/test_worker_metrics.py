"""`bridgekeeper worker` counts Slack calls and scheduled jobs of its own: its health port
serves its /metrics too, so every replica can be scraped (README, Monitoring)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bridgekeeper.sandbox import SlackEmulator
from tests.faults.servers import Worker
from tests.faults.test_startup import wait_for_status


async def test_a_worker_s_metrics_can_be_scraped(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    worker = Worker(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "w.log",
        env={"SLACK_SIGNING_SECRET": ""},
    )
    worker.env["WORKER_HEALTH_PORT"] = str(worker.port)
    try:
        await worker.start()
        await wait_for_status(f"{worker.url}/readyz", 200)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{worker.url}/metrics") as response,
        ):
            status, text = response.status, await response.text()
    finally:
        worker.stop()
    assert status == 200, f"the worker's /metrics answered {status}"
    assert "bridgekeeper_event_loop_lag_seconds" in text
