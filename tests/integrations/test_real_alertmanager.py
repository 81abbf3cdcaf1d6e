"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager, started here on loopback with
its own configuration) sends its webhooks to bridgekeeper: single alerts, groups of several,
repeat notifications, resolves and re-fires, a storm of a few hundred alerts, and the Watchdog
wired as a heartbeat. Every alert is accounted for, the cards stay bounded, and Alertmanager
never has to retry.

Skipped without the binary, unless BRIDGEKEEPER_ALERTMANAGER_TESTS=required (CI sets it)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store import jobs
from tests.alerting import alerts, bridgekeepers, card_texts
from tests.conftest import ALERT_TOKEN, Running
from tests.faults.servers import free_port

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
REQUIRED = os.environ.get("BRIDGEKEEPER_ALERTMANAGER_TESTS") == "required"
STORM = 300
DIGEST_COUNT = re.compile(r"(\d+) more alerts?\b")
CONFIG = """
route:
  receiver: bridgekeeper
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 3s
  routes:
    - matchers: ['alertname = "Watchdog"']
      receiver: watchdog
receivers:
  - name: watchdog
    webhook_configs:
      - url: {url}/heartbeats/watchdog?interval=1m
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
  - name: bridgekeeper
    webhook_configs:
      - url: {url}/alerts/alertmanager
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            credentials: {token}
"""


class Alertmanager:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    async def fire(self, *alerts: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/api/v2/alerts", json=list(alerts)) as response,
        ):
            assert response.status == 200, await response.text()

    async def webhook_metrics(self) -> dict[str, float]:
        """Alertmanager's own count of webhook notifications: sent and failed."""
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/metrics") as r:
            text = await r.text()
        counts: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("integration") == "webhook":
                    counts[sample.name] = counts.get(sample.name, 0) + sample.value
        return counts


def alert(name: str, instance: str, *, ended: bool = False, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "labels": {"alertname": name, "instance": instance, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} on {instance}"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
    }
    if ended:
        body["endsAt"] = (now - timedelta(seconds=1)).isoformat()
    return body


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        # The digest's count refreshed every 2 s, not 20: sooner, and a storm's last alerts are
        # stored while its next render falls due (which, relied on, had missed them).
        yield await start(card_refresh_seconds=2)


@pytest.fixture
async def alertmanager(app: Running, tmp_path: Path) -> AsyncIterator[Alertmanager]:
    if BINARY is None:
        if REQUIRED:
            pytest.fail("prometheus-alertmanager is not installed")
        pytest.skip("prometheus-alertmanager is not installed")
    manager = spawn(BINARY, app.url, tmp_path)
    process, log = manager.process, manager.log
    try:
        await until(lambda: _ready(manager), what="Alertmanager to start", log=log)
        yield manager
    finally:
        process.terminate()
        process.wait(timeout=10)


def spawn(binary: str, bridgekeeper: str, folder: Path) -> Alertmanager:
    """Alertmanager on a free loopback port, clustering off, sending to `bridgekeeper`."""
    config = folder / "alertmanager.yml"
    config.write_text(CONFIG.format(url=bridgekeeper, token=ALERT_TOKEN), encoding="utf-8")
    port, log = free_port(), folder / "alertmanager.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Alertmanager(f"http://127.0.0.1:{port}", process, log)


def tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log else ""


async def _ready(manager: Alertmanager) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{manager.url}/-/ready") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def until(
    check: Callable[[], Any], *, what: str, timeout: float = 60.0, log: Path | None = None
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{tail(log)}")


async def by_title(app: Running) -> dict[str, Any]:
    return {row.title: row for row in await alerts(app)}


@pytest.mark.slow(6)
async def test_alerts_groups_repeats_resolves_and_refires(
    app: Running, alertmanager: Alertmanager
) -> None:
    await alertmanager.fire(alert("DiskFull", "db-01:9100"))

    async def carded() -> bool:
        await app.settle()
        return any("DiskFull on db-01:9100" in card for card in card_texts(app))

    await until(carded, what="the first alert's card")

    group = [alert("HighLatency", f"web-0{n}:9100") for n in range(1, 4)]
    await alertmanager.fire(*group)

    async def grouped() -> bool:
        return sum(title.startswith("HighLatency") for title in await by_title(app)) == 3

    await until(grouped, what="each alert of the group as its own record")

    async def repeated() -> bool:  # Alertmanager repeats a firing group every 3 s
        return (await by_title(app))["DiskFull on db-01:9100"].occurrences >= 2

    await until(repeated, what="a repeat notification counted on the alert")

    await alertmanager.fire(alert("DiskFull", "db-01:9100", ended=True))

    async def resolved() -> bool:
        return (await by_title(app))["DiskFull on db-01:9100"].status == "resolved"

    await until(resolved, what="the resolve")
    await alertmanager.fire(alert("DiskFull", "db-01:9100"))

    async def refired() -> bool:
        rows = [r for r in await alerts(app) if r.title == "DiskFull on db-01:9100"]
        return any(r.status == "firing" for r in rows)

    await until(refired, what="the re-fire to open the alert again")
    failed = (await alertmanager.webhook_metrics()).get("alertmanager_notifications_failed_total")
    assert not failed, "Alertmanager had to retry"


@pytest.mark.slow(4)
async def test_a_storm_of_alerts_is_all_accounted_for_with_bounded_cards(
    app: Running, alertmanager: Alertmanager
) -> None:
    storm = [alert("NodeDown", f"node-{n:03d}:9100", severity="warning") for n in range(STORM)]
    for start in range(0, STORM, 100):
        await alertmanager.fire(*storm[start : start + 100])

    async def all_stored() -> bool:
        return len(await alerts(app)) == STORM

    await until(all_stored, what=f"all {STORM} alerts", timeout=120)

    async def all_shown() -> bool:  # the digest's count is refreshed at a pace, not per alert
        await app.settle(timeout=60)
        cards = card_texts(app)
        digested = [int(m[1]) for card in cards if (m := DIGEST_COUNT.search(card))]
        return bool(digested) and len(cards) - len(digested) + sum(digested) == STORM

    await until(all_shown, what="every alert on a card of its own or in the digest", timeout=90)
    per_minute = app.bk.settings.alerts.triage_cards_per_minute
    assert len(card_texts(app)) <= per_minute + 2  # cards up to the limit, then one digest
    metrics = await alertmanager.webhook_metrics()
    assert metrics.get("alertmanager_notifications_total", 0) >= 1
    assert not metrics.get("alertmanager_notifications_failed_total")


@pytest.mark.slow(4)
async def test_the_watchdog_pings_its_heartbeat_and_makes_no_alert(
    app: Running, alertmanager: Alertmanager
) -> None:
    async def last_ping() -> str | None:
        async with app.bk.db.transaction() as session:
            job = await jobs.get(session, "heartbeat:watchdog")
        return None if job is None else str(job.payload["last_ping"])

    await alertmanager.fire(alert("Watchdog", "prometheus:9090", severity="none"))
    await until(last_ping, what="the Watchdog's first ping", log=alertmanager.log)
    first = await last_ping()

    async def pinged_again() -> bool:  # the route repeats every 3 s
        return await last_ping() not in (None, first)

    await until(pinged_again, what="a repeat of the Watchdog to ping again", log=alertmanager.log)
    assert await alerts(app) == []  # a heartbeat, not an alert
    failed = (await alertmanager.webhook_metrics()).get("alertmanager_notifications_failed_total")
    assert not failed, "Alertmanager had to retry"
