"""2. Alert ingest and 3. storm economy: Alertmanager webhooks, one alert each, with a fixed set
of dedup keys, against bridgekeeper (SQLite, and PostgreSQL when given) and a bare aiohttp
handler that parses the JSON and answers 202.

An alert counts as accepted when bridgekeeper answered 202, which it does only after the commit;
after each run the stored occurrence counts are checked against the number sent. The storm
economy is read from the emulator's call log: triage cards posted and updated for the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import func, select

from bench import harness
from bench.harness import Options, Row
from bridgekeeper.config import database_url
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Alert, Effect

CONCURRENCY = 20
KEYS = 100
GOAL_RATE = 1000.0
GOAL_RATIO = 0.3
GROUP_LIMIT_MS = 10_000  # Alertmanager gives a notification 10 s (at least), then retries it
GROUP_GOAL = "< 10 s (Alertmanager's limit)"


@dataclass
class Storm:
    """What the Web API saw for one run."""

    cards: int
    updates: int
    max_updates_per_card: int
    calls: int
    bound: int  # the most updates per card the pacing allows for this run's duration


def sizes(options: Options) -> int:
    return 300 if options.quick else 10_000


def group_size(options: Options) -> int:
    """A fleet-wide outage: one Alertmanager notification of this many new alerts."""
    return 200 if options.quick else 1_000


def payload(i: int) -> bytes:
    """Occurrence i of alert number i % KEYS: the same fingerprint, a changing value."""
    key = i % KEYS
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "BenchHighLatency",
            "instance": f"bench-{key:03d}:9100",
            "job": "node",
            "severity": "critical",
        },
        "annotations": {
            "summary": f"High latency on bench-{key:03d}",
            "description": f"p99 latency is {100 + i % 997} ms (occurrence {i}).",
        },
        "startsAt": "2025-11-14T10:06:45.123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph",
        "fingerprint": f"bench{key:011d}",
    }
    body = {
        "version": "4",
        "receiver": "bridgekeeper",
        "status": "firing",
        "groupKey": f'{{}}:{{alertname="BenchHighLatency", instance="bench-{key:03d}"}}',
        "alerts": [alert],
        "externalURL": "http://alertmanager.example:9093",
    }
    return json.dumps(body).encode()


async def run(options: Options) -> list[Row]:
    count = sizes(options)
    label = f"{count:,} alerts, {KEYS} keys, conc. {CONCURRENCY}"
    bare = Row("alert ingest", f"bare aiohttp 202 ({label})", unit="alerts/s", digits=0)
    bare_cpu = Row("alert ingest", "bare aiohttp CPU per alert", unit="ms", digits=2)
    bare_group = Row("alert ingest", _group_metric(options, "bare aiohttp"), unit="ms", digits=1)
    rows = [bare, bare_cpu, bare_group]
    kinds = ["sqlite"] + (["postgresql"] if options.pg_url else [])
    for kind in kinds:
        rows += await _database_runs(options, kind, count, label, [bare, bare_cpu, bare_group])
    if not options.pg_url:
        skipped = "not run (--no-pg, or no server reachable)"
        rows.append(Row("alert ingest", "PostgreSQL", note=skipped))
    return rows


async def _database_runs(
    options: Options, kind: str, count: int, label: str, bare_rows: list[Row]
) -> list[Row]:
    name = "SQLite" if kind == "sqlite" else "PostgreSQL"
    rate = Row("alert ingest", f"bridgekeeper on {name} ({label})", unit="alerts/s", digits=0)
    ratio = Row("alert ingest", f"ratio on {name} (bridgekeeper / bare)", unit="x", digits=2)
    cpu = Row("alert ingest", f"server CPU per alert on {name}", unit="ms", digits=2)
    group = Row("alert ingest", _group_metric(options, name), unit="ms", digits=0)
    storm: Storm | None = None
    for round_no in range(options.repeats):
        last = round_no == options.repeats - 1
        options.log(f"ingest on {name}, round {round_no + 1}: {count} alerts")
        async with _bridgekeeper(options, kind) as (slack, server, db_url):
            sent, cpu_before = time.perf_counter(), server.cpu_seconds()
            ours = await load(server.url, count)
            cpu.samples.append((server.cpu_seconds() - cpu_before) / count * 1000)
            await _check_durable(db_url, count)
            if last:
                storm = await _storm(options, slack, db_url, time.perf_counter() - sent)
            group.samples.append(await post_group(server.url, group_size(options)))
        theirs, *bare = await _bare_run(options, count)
        for row, sample in zip(bare_rows, [theirs, *bare], strict=True):
            row.samples.append(sample)
        rate.samples.append(ours)
        ratio.samples.append(ours / theirs)
    if kind == "sqlite":
        rate.goal, rate.met = f">= {GOAL_RATE:,.0f} alerts/s", rate.median >= GOAL_RATE
    ratio.goal, ratio.met = f">= {GOAL_RATIO}", ratio.median >= GOAL_RATIO
    group.goal, group.met = GROUP_GOAL, group.median < GROUP_LIMIT_MS
    assert storm is not None
    return [rate, ratio, cpu, group, *_storm_rows(name, storm, options)]


# [alerts] triage_cards_per_minute: one card per key up to it, then one digest card (quick runs
# allow fewer: harness.quick_config).
CARDS_PER_MINUTE = 20  # as shipped


def cards_per_minute(options: Options) -> int:
    return harness.QUICK_CARDS_PER_MINUTE if options.quick else CARDS_PER_MINUTE


def _storm_rows(name: str, storm: Storm, options: Options) -> list[Row]:
    def row(metric: str, value: float, goal: str = "", met: bool | None = None) -> Row:
        return Row("storm economy", f"{metric} ({name})", [value], "", goal, met, digits=0)

    allowed = cards_per_minute(options)
    expected = min(KEYS, allowed) + (1 if allowed < KEYS else 0)
    goal = f"= {expected} ({allowed} cards, then one digest)"
    return [
        row("triage cards posted", storm.cards, goal, storm.cards == expected),
        row("card updates (chat.update)", storm.updates),
        row(
            "updates per card, most",
            storm.max_updates_per_card,
            f"<= {storm.bound} (paced, not per occurrence)",
            storm.max_updates_per_card <= storm.bound,
        ),
        row("Web API calls in all", storm.calls),
    ]


@contextlib.asynccontextmanager
async def _bridgekeeper(
    options: Options, kind: str
) -> AsyncIterator[tuple[SlackEmulator, harness.ServerProcess, str]]:
    async with harness.emulator() as slack, harness.database(options, kind) as db_url:
        triage = slack.add_channel("alert-triage", members=["UBOT", *harness.USERS])
        env = harness.bridgekeeper_env(
            db_url=db_url,
            api_url=slack.api_url,
            triage_channel=triage,
            config=harness.quick_config(options, "quick"),
        )
        server = harness.bridgekeeper_server(options, env, f"ingest-{kind}")
        async with harness.running(server):
            yield slack, server, db_url


def card_refresh_seconds(options: Options) -> int:
    return harness.QUICK_CARD_REFRESH if options.quick else 20


async def _bare_run(options: Options, count: int) -> tuple[float, float, float]:
    """The bare handler's alerts per second, its CPU milliseconds per alert, and its answer
    to a group's notification (ms)."""
    env = {"BRIDGEKEEPER_ALERT_TOKEN": harness.ALERT_TOKEN}
    server = harness.bench_server(options, "bare_alerts", env, "bare-alerts")
    async with harness.running(server):
        before = server.cpu_seconds()
        rate = await load(server.url, count)
        cpu = (server.cpu_seconds() - before) / count * 1000
        return rate, cpu, await post_group(server.url, group_size(options))


def _group_metric(options: Options, who: str) -> str:
    return f"one notification of {group_size(options):,} new alerts, to its 202 ({who})"


def group_payload(size: int) -> bytes:
    """One Alertmanager notification of a whole group: a node exporter down on every node."""
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "NodeDown", "instance": f"node-{n:04d}:9100", "job": "node",
                       "severity": "warning"},
            "annotations": {"summary": f"node-{n:04d} is not answering scrapes"},
            "startsAt": "2025-11-14T10:06:45.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"group{n:011d}",
        }
        for n in range(size)
    ]  # fmt: skip
    body = {"version": "4", "receiver": "bridgekeeper", "status": "firing",
            "groupKey": '{}:{alertname="NodeDown"}', "alerts": alerts}  # fmt: skip
    return json.dumps(body).encode()


async def post_group(url: str, size: int) -> float:
    """Milliseconds from sending one notification of `size` new alerts to its 202."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {harness.ALERT_TOKEN}"}
    body = group_payload(size)
    async with harness.client_session(1) as session:
        started = time.perf_counter()
        async with session.post(f"{url}/alerts/alertmanager", data=body, headers=headers) as r:
            await r.read()
            if r.status != 202:
                raise RuntimeError(f"the group's notification was answered {r.status}")
        return (time.perf_counter() - started) * 1000


async def load(url: str, count: int) -> float:
    """POST `count` webhooks CONCURRENCY at a time; accepted alerts per second."""
    bodies = [payload(i) for i in range(count)]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {harness.ALERT_TOKEN}"}
    async with harness.client_session(CONCURRENCY) as session:

        async def one(i: int) -> int:
            async with session.post(
                f"{url}/alerts/alertmanager", data=bodies[i], headers=headers
            ) as response:
                await response.read()
                return response.status

        statuses, seconds = await harness.run_concurrently(count, CONCURRENCY, one)
    refused = Counter(s for s in statuses if s != 202)
    if refused:
        raise RuntimeError(f"alerts not accepted: {dict(refused)}")
    return count / seconds


async def _check_durable(db_url: str, count: int) -> None:
    """Every 202 is a stored occurrence: the counts add up to what was sent."""
    db = Database(database_url(db_url))
    try:
        async with db.sessions() as session:
            stored = await session.scalar(select(func.sum(Alert.occurrences)))
            alerts = await session.scalar(select(func.count()).select_from(Alert))
    finally:
        await db.dispose()
    if stored != count or alerts != KEYS:
        raise RuntimeError(f"stored {stored} occurrences in {alerts} alerts; sent {count}")


async def _storm(options: Options, slack: SlackEmulator, db_url: str, elapsed: float) -> Storm:
    """Wait until every paced card update has been delivered, then read the call log."""
    interval = card_refresh_seconds(options)
    await _drained(db_url, timeout=interval * 2 + 60)
    await harness.wait_quiet(slack, quiet=0.5, timeout=30)
    posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    updates = Counter(str(c.args.get("ts")) for c in slack.calls_to("chat.update") if c.ok)
    return Storm(
        cards=len(posts),
        updates=sum(updates.values()),
        max_updates_per_card=max(updates.values(), default=0),
        calls=len(slack.calls),
        bound=1 + math.ceil(elapsed / interval),
    )


async def _drained(db_url: str, timeout: float) -> None:
    db = Database(database_url(db_url))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with db.sessions() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(Effect).where(Effect.status == "pending")
                )
            if not pending:
                return
            await asyncio.sleep(0.25)
    finally:
        await db.dispose()
    raise RuntimeError("the outbox did not drain")
