"""A real `bridgekeeper serve` process seen from outside: /metrics counts what it did, the
bearer token guards it, LOG_FORMAT=json writes one JSON object a line, no secret reaches either,
and an idle process is quiet."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from tests.conftest import ALERT_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.faults.servers import Server, wait_for

pytestmark = pytest.mark.faults
METRICS_TOKEN = "test-metrics-token-0123456789"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, ALERT_TOKEN, METRICS_TOKEN)
# Fewer than ten log lines a minute with nothing happening, watched for a fifth of a minute
# (fewer than two lines): what runs on its own (the scheduler's tick and the lease's renewal
# every 5 s, the outbox's idle poll every second) comes round at least twice in it, so anything
# that logs on each round shows.
IDLE_SECONDS = 12
IDLE_BUDGET = 2


async def scrape(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def cards(text: str) -> float:
    return sum(value(text, "bridgekeeper_cards_posted_total", card=c) for c in ("triage", "status"))


async def scraped_once(url: str, condition: Callable[[str], bool], timeout: float = 10.0) -> str:
    """The metrics page, once `condition` holds for it."""
    async with asyncio.timeout(timeout):
        while True:
            text = (await scrape(url))[1]
            if condition(text):
                return text
            await asyncio.sleep(0.05)


async def post_alert(url: str, payload: dict[str, object], token: str = ALERT_TOKEN) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/alerts/generic", json=payload, headers=headers) as response,
    ):
        return response.status


async def test_metrics_count_alerts_commands_cards_and_slack_calls_and_json_logs_name_the_work(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    triage = emulator.add_channel("triage", members=["U0ALICE"])
    general = emulator.add_channel("general", members=["U0ALICE"])
    server = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "serve.log",
        env={"LOG_FORMAT": "json", "BRIDGEKEEPER_TRIAGE_CHANNEL": triage},
    )
    try:
        await server.start()
        status, before = await scrape(server.url)
        assert status == 200
        alert = {"title": "Disk almost full on db-01", "severity": "sev2"}
        assert await post_alert(server.url, alert) == 202
        assert await post_alert(server.url, alert) == 202  # a repeat
        assert await post_alert(server.url, alert, token="wrong") == 401
        emulator.fail("conversations.create", status=429, retry_after=1)
        driver = SlackDriver(emulator, f"{server.url}/slack/events", SIGNING_SECRET)
        assert (
            await driver.command("declare Database down", user="U0ALICE", channel=general)
        ).status == 200
        event = {
            "type": "app_mention",
            "user": "U0ALICE",
            "text": "hi",
            "channel": general,
            "ts": "1.000001",
            "event_ts": "1.000001",
        }
        for retry in (None, 1):  # the redelivery is logged, during its request
            await driver.event(event, event_id="Ev1", retry_num=retry)
        await wait_for(lambda: len(emulator.calls_to("chat.postMessage")) >= 2)  # both cards
        after = await scraped_once(server.url, lambda text: cards(text) - cards(before) >= 2)
    finally:
        await server.stop()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    alerts = "bridgekeeper_alerts_received_total"
    assert delta(alerts, source="generic", outcome="new") == 1
    assert delta(alerts, source="generic", outcome="duplicate") == 1
    assert delta(alerts, source="generic", outcome="refused") == 1
    assert delta("bridgekeeper_slash_command_ack_seconds_count") == 1
    assert delta("bridgekeeper_incidents_declared_total", severity="sev3") == 1
    assert delta("bridgekeeper_cards_posted_total", card="triage") == 1
    assert delta("bridgekeeper_cards_posted_total", card="status") == 1
    for gauge in ("pending", "parked", "oldest_pending_seconds"):
        assert (f"bridgekeeper_outbox_{gauge}", frozenset()) in samples(after)

    records = [json.loads(line) for line in server.output().splitlines()]
    assert records, "nothing was logged"
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    assert any(r.get("request_id") and "delivered again" in r["message"] for r in records)
    assert any(r.get("incident_id") and "ratelimited" in r["message"] for r in records)
    for secret in SECRETS:
        assert secret not in server.output()
        assert secret not in after
    calls = "bridgekeeper_slack_api_calls_total"
    assert delta(calls, method="chat.postMessage", outcome="ok") >= 2
    assert delta(calls, method="conversations.create", outcome="ratelimited") == 1
    assert delta("bridgekeeper_slack_ratelimited_total", method="conversations.create") == 1
    assert delta("bridgekeeper_slack_retry_after_seconds_total", method="conversations.create") == 1
    assert delta("bridgekeeper_slack_api_call_seconds_count", method="chat.postMessage") >= 2
    assert delta("bridgekeeper_slack_limiter_wait_seconds_count", method="chat.postMessage") >= 2
    assert delta("bridgekeeper_db_transaction_seconds_count", kind="session") >= 1
    assert delta("bridgekeeper_event_loop_lag_seconds_count") >= 1  # timed every 50 ms


async def test_a_metrics_token_guards_metrics(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    server = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "serve.log",
        env={"BRIDGEKEEPER_METRICS_TOKEN": METRICS_TOKEN},
    )
    try:
        await server.start()
        assert (await scrape(server.url))[0] == 401
        assert (await scrape(server.url, "wrong-token-0123456789"))[0] == 401
        status, text = await scrape(server.url, METRICS_TOKEN)
    finally:
        await server.stop()
    assert status == 200
    assert "bridgekeeper_outbox_pending" in text
    assert METRICS_TOKEN not in text + server.output()


@pytest.mark.slow(15)
async def test_an_idle_serve_process_logs_fewer_than_ten_lines_a_minute(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    server = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "serve.log")
    try:
        await server.start()
        await asyncio.sleep(1)  # the scheduler starts once the lease is taken
        started = server.output().splitlines()
        await asyncio.sleep(IDLE_SECONDS)
        idle = server.output().splitlines()[len(started) :]
    finally:
        await server.stop()
    assert len(idle) < IDLE_BUDGET, "\n".join(idle)
    assert not [line for line in started if "token" in line.lower()], started  # Bolt's notes
