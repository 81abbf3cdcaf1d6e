"""Heartbeats on a FrozenClock: a ping sets the interval, a late ping raises the missed-heartbeat
alert with its triage card (fired by the real scheduler), the next ping resolves it; intervals
from the configuration; bad pings are refused and change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridgekeeper.clock import FrozenClock
from bridgekeeper.config import load_settings
from bridgekeeper.sandbox import SlackEmulator
from tests import conftest
from tests.alerting import alerts, bridgekeepers, card_texts
from tests.conftest import ALERT_TOKEN, Running


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(clock=FrozenClock())


async def ping(
    app: Running, path: str, token: str = ALERT_TOKEN, body: Any = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{app.url}/heartbeats/{path}", headers=headers, json=body) as response,
    ):
        return response.status, await response.json()


async def later(app: Running, **delta: float) -> None:
    """Move the clock and let the scheduler fire what fell due."""
    clock = app.bk.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(**delta)
    await app.bk.scheduler.run_due()
    await app.settle()


async def test_a_late_ping_raises_an_alert_and_the_next_ping_resolves_it(app: Running) -> None:
    status, answer = await ping(app, "nightly-backup?interval=5m")
    assert status == 200 and answer["interval"] == "5m" and not answer["was_missed"]
    await later(app, minutes=5)
    status, _ = await ping(app, "nightly-backup")  # on time: the interval is remembered
    assert status == 200
    await later(app, minutes=6)  # 5 minutes and the grace of 1 minute: missed
    [row] = await alerts(app)
    assert (row.title, row.severity, row.status) == (
        "Heartbeat nightly-backup missed",
        "sev2",
        "firing",
    )
    [card] = card_texts(app)
    assert "Heartbeat nightly-backup missed" in card and "every 5m" in card
    await later(app, minutes=30)
    assert len(await alerts(app)) == 1  # raised once, not again and again

    status, answer = await ping(app, "nightly-backup")
    assert status == 200 and answer["was_missed"]
    [row] = await alerts(app)
    assert row.status == "resolved"
    await app.settle()
    assert "*Status:* resolved" in card_texts(app)[0]


def watchdog(status: str) -> dict[str, Any]:
    """Alertmanager's webhook (version 4) for kube-prometheus's always-firing Watchdog."""
    alert = {
        "status": status,
        "labels": {"alertname": "Watchdog", "severity": "none"},
        "annotations": {"summary": "An alert that should always be firing"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2026-01-01T00:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": "e4a1c7f2d9b3a865",
    }
    return {
        "version": "4",
        "groupKey": '{}/{alertname="Watchdog"}:{alertname="Watchdog"}',
        "status": status,
        "receiver": "bridgekeeper-watchdog",
        "groupLabels": {"alertname": "Watchdog"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [alert],
    }


async def test_a_resolved_watchdog_is_not_a_ping(app: Running) -> None:
    """When Prometheus stops, its Watchdog resolves and Alertmanager says so once: that is the
    pipeline breaking, so the heartbeat is missed on time, and the next firing one resolves it."""
    status, _ = await ping(app, "watchdog?interval=2m", body=watchdog("firing"))
    assert status == 200
    await later(app, minutes=1)
    status, answer = await ping(app, "watchdog", body=watchdog("resolved"))
    assert status == 202 and "resolved" in answer["ignored"]
    await later(app, minutes=1, seconds=45)  # 2 minutes and the grace of 42 s after the ping
    assert [a.title for a in await alerts(app)] == ["Heartbeat watchdog missed"]
    status, answer = await ping(app, "watchdog", body=watchdog("firing"))
    assert status == 200 and answer["was_missed"]
    assert [a.status for a in await alerts(app)] == ["resolved"]


async def test_the_configured_interval_wins(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    config = tmp_path / "bridgekeeper.toml"
    config.write_text("[heartbeats]\nwatchdog = 2\n", encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}
    configured = load_settings(env, config_path=str(config)).heartbeats
    assert configured == {"watchdog": 2}
    async with conftest.bridgekeepers(db_url, emulator) as start:
        app = await start(clock=FrozenClock(), heartbeats=configured)
        status, answer = await ping(app, "watchdog?interval=1h")
        assert status == 200 and answer["interval"] == "2m"
        await later(app, minutes=3)
        assert [a.title for a in await alerts(app)] == ["Heartbeat watchdog missed"]


@pytest.mark.parametrize(
    ("path", "token", "status", "said"),
    [
        ("never-pinged", ALERT_TOKEN, 422, "has no interval: ping with ?interval=5m"),
        ("Bad Name!?interval=5m", ALERT_TOKEN, 422, "lowercase letters"),
        ("backup%0A?interval=5m", ALERT_TOKEN, 422, "lowercase letters"),
        ("backup?interval=5x", ALERT_TOKEN, 422, "interval must be"),
        ("backup?interval=1s", ALERT_TOKEN, 422, "between 10 seconds and 31 days"),
        ("backup?interval=5m", "wrong", 401, "credentials"),
    ],
)
async def test_bad_pings_are_refused_and_arm_nothing(
    app: Running, path: str, token: str, status: int, said: str
) -> None:
    answered, body = await ping(app, path, token=token)
    assert answered == status and said in body["error"], body
    await later(app, days=40)
    assert await alerts(app) == []
