"""6. Closing a long incident: `bridgekeeper serve` in a child process closes an incident whose
timeline has 200,000 entries (quick: 5,000); measured are the server's peak resident memory
(VmHWM, which includes everything it held since it started), the time from the signed
`/incident close` to the report file in the bridge channel, and, every 100 ms meanwhile, the
ack of an `/incident list` and the 202 of an Alertmanager webhook (a write: it must not wait
for the report).

The incident is declared through the server; its long timeline is then written straight into
the database (hash-chained, the mix of bench/report.py). A fresh server each run.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from bench import harness
from bench.alert_ingest import payload
from bench.harness import Options, Row, SignedCommands
from bench.report import add_entries
from bridgekeeper.config import database_url
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database

GOAL_MIB = 300.0
TIMEOUT = 900.0


def sizes(options: Options) -> int:
    return 5_000 if options.quick else 200_000


async def run(options: Options) -> list[Row]:
    entries = sizes(options)
    label = f"{entries:,} entries"
    peak = Row("long close", f"serve peak RSS (VmHWM) closing {label}", unit="MiB")
    before = Row("long close", "serve peak RSS (VmHWM) before the close", unit="MiB")
    took = Row("long close", f"close to report file in Slack ({label})", unit="s")
    acks = Row("long close", "ack of /incident list during the close, max", unit="ms")
    alerts = Row("long close", "202 of an alert webhook during the close, max", unit="ms")
    for _ in range(options.repeats):
        measured = await close_once(options, entries)
        for row, value in zip((before, peak, took, acks, alerts), measured, strict=True):
            row.samples.append(value)
    peak.goal, peak.met = f"< {GOAL_MIB:.0f} MiB", peak.median < GOAL_MIB
    return [peak, before, took, acks, alerts]


async def close_once(options: Options, entries: int) -> tuple[float, float, float, float, float]:
    """(VmHWM before and after the close in MiB, seconds to the file, slowest ack and slowest
    alert webhook answer in ms)"""
    async with harness.emulator() as slack, harness.database(options, "sqlite") as db_url:
        general = slack.add_channel("general", members=list(harness.USERS))
        env = harness.bridgekeeper_env(db_url=db_url, api_url=slack.api_url)
        server = harness.bridgekeeper_server(options, env, "long-close")
        async with harness.running(server), harness.client_session(4) as session:
            sender = SignedCommands(slack, session, f"{server.url}/slack/events")
            bridge = await declare(slack, sender, general)
            options.log(f"writing {entries:,} timeline entries")
            await write_timeline(db_url, entries)
            before = vm_hwm_mib(server.pid)
            started = time.perf_counter()
            await send(sender, "close after a very long night", bridge)
            ack, alert = await until_shared(slack, sender, session, server.url, general, bridge)
            took = time.perf_counter() - started
            return before, vm_hwm_mib(server.pid), took, ack * 1000, alert * 1000


async def declare(slack: SlackEmulator, sender: SignedCommands, general: str) -> str:
    await send(sender, "declare Credential stuffing all night sev2", general)
    await harness.wait_until(lambda: _bridge(slack) is not None, timeout=30)
    bridge = _bridge(slack)
    assert bridge is not None, "no bridge channel"
    await send(sender, "role commander <@U0ALICE>", bridge)
    await harness.wait_quiet(slack, quiet=0.3, timeout=30)
    return bridge


async def write_timeline(db_url: str, entries: int) -> None:
    db = Database(database_url(db_url))
    try:
        async with db.transaction() as session:
            incident = await incident_store.get(session=session, number=1, lock=True)
            assert incident is not None
            await add_entries(session, incident, entries)
    finally:
        await db.dispose()


async def until_shared(
    slack: SlackEmulator,
    sender: SignedCommands,
    session: aiohttp.ClientSession,
    url: str,
    general: str,
    bridge: str,
) -> tuple[float, float]:
    """Every 100 ms until the report file is in the bridge channel, `/incident list` and an
    Alertmanager webhook: the slowest ack and the slowest 202, in seconds."""
    slowest_ack = slowest_alert = 0.0
    deadline = time.monotonic() + TIMEOUT
    sent = 0
    while not any(bridge in f.channels for f in slack.files):
        if time.monotonic() > deadline:
            raise RuntimeError("the report file never reached the bridge channel")
        status, seconds = await sender.send(sender.body("list", user="U0BOB", channel=general))
        if status != 200:
            raise RuntimeError(f"list answered {status}")
        slowest_ack = max(slowest_ack, seconds)
        slowest_alert = max(slowest_alert, await post_alert(session, url, sent))
        sent += 1
        await asyncio.sleep(0.1)
    return slowest_ack, slowest_alert


async def post_alert(session: aiohttp.ClientSession, url: str, n: int) -> float:
    """Seconds from sending an Alertmanager webhook to its 202."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {harness.ALERT_TOKEN}"}
    started = time.perf_counter()
    async with session.post(f"{url}/alerts/alertmanager", data=payload(n), headers=headers) as r:
        await r.read()
        if r.status != 202:
            raise RuntimeError(f"an alert during the close was answered {r.status}")
    return time.perf_counter() - started


async def send(sender: SignedCommands, text: str, channel: str) -> None:
    status, _ = await sender.send(sender.body(text, user="U0ALICE", channel=channel))
    if status != 200:
        raise RuntimeError(f"{text!r} answered {status}")


def _bridge(slack: SlackEmulator) -> str | None:
    return next((c.id for c in slack.channels.values() if c.name.startswith("inc-1-")), None)


def vm_hwm_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")
