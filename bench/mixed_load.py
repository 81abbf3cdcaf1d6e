"""7. Mixed load: what real use looks like, with the emulator enforcing Slack's rate limits.

Each run starts `serve` on a new database (SQLite, and PostgreSQL when given) with a triage
channel, declares two incidents, and makes the second one's bridge channel fail: the emulator
answers every chat.postMessage there with a 503, and notes queue effects for it before the
scenario starts, so the failing channel is present throughout. Then (bench/mixed_scenario.py):

1. a burst of signed `/incident note` commands in the first incident's bridge channel, from 20
   users at once, each sending its share one after another; immediately followed by
2. an alert storm: Alertmanager webhooks for 50 dedup keys, each key's body resent byte for
   byte, 20 senders at once, every one answered 202 (the stored counts are checked after);
   during it each user sends a note every half second, and
3. once half the storm is answered, a SEV1 is declared in #general.

The same scenario, with the same number of requests, runs first against the bare baselines (a
bare Bolt app for the commands, a bare aiohttp handler for the alerts), both at once, so each
side shares the machine with its own alert load; then against bridgekeeper. The load
generator and the emulator are in the bench process for both sides. After the scenario the bench
waits for the note burst to be in the bridge channel and for the outbox to be empty but for the
failing channel, then reads the emulator's call log (calls since the scenario started).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator

from sqlalchemy import func, select

from bench import harness
from bench import mixed_scenario as scenario
from bench.harness import Options, Row, SignedCommands
from bench.mixed_scenario import KEYS, Sizes
from bridgekeeper.config import database_url
from bridgekeeper.sandbox import Call, SlackEmulator
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Alert, Effect, Incident

GOALS = {  # metric -> (goal text, test)
    "ratio": ("<= 1.5", lambda v: v <= 1.5),
    "rate": (">= 1,000 alerts/s", lambda v: v >= 1000),
    "rate ratio": (">= 0.3", lambda v: v >= 0.3),
    "channel": ("<= 5 s", lambda v: v <= 5),
    "card": ("<= 10 s", lambda v: v <= 10),
    "cards": (f"<= {KEYS} (one per key at most)", lambda v: 1 <= v <= KEYS),
}
FAILING_NUMBER = 2  # the incident whose bridge channel fails
SEV1_TIMEOUT = 60.0


def sizes(options: Options) -> Sizes:
    if options.quick:
        return Sizes(notes=100, alerts=500, trickle=3, failing=30)
    return Sizes(notes=1000, alerts=5000, trickle=10, failing=300)


async def run(options: Options) -> list[Row]:
    size = sizes(options)
    env = {
        "SLACK_SIGNING_SECRET": harness.SIGNING_SECRET,
        "SLACK_BOT_TOKEN": harness.BOT_TOKEN,
        "BRIDGEKEEPER_ALERT_TOKEN": harness.ALERT_TOKEN,
    }
    bolt = harness.bench_server(options, "bare_bolt", env, "mixed-bare-bolt")
    alerts = harness.bench_server(options, "bare_alerts", env, "mixed-bare-alerts")
    rows: list[Row] = []
    kinds = ["sqlite"] + (["postgresql"] if options.pg_url else [])
    async with harness.running(bolt), harness.running(alerts):
        for kind in kinds:
            name = "SQLite" if kind == "sqlite" else "PostgreSQL"
            values: list[dict[str, float | None]] = []
            methods = ""
            for round_no in range(options.repeats):
                options.log(f"mixed load on {name}, round {round_no + 1}")
                found, methods = await _round(options, kind, size, bolt, alerts.url, round_no)
                values.append(found)
            rows += _rows(name, size, values, methods)
    if not options.pg_url:
        rows.append(Row("mixed load", "PostgreSQL", note="not run (--no-pg, or no server)"))
    return rows


async def _round(
    options: Options, kind: str, size: Sizes, bolt: harness.ServerProcess, bare_alerts: str,
    round_no: int,
) -> tuple[dict[str, float | None], str]:  # fmt: skip
    v: dict[str, float | None] = {"load": os.getloadavg()[0]}
    async with _bridgekeeper(options, kind, round_no) as (slack, server, db_url, general):
        async with scenario.client_session() as session:
            ours = SignedCommands(slack, session, f"{server.url}/slack/events")
            bridge = await _declare(slack, ours, general, "Mixed load notes sev2", 1)
            failing = await _declare(slack, ours, general, "Mixed load failing sev3", 2)
            slack.fail("chat.postMessage", status=503, times=10**9, channel=failing)
            note = [ours.body(f"note queued {i}", user="U0MIX01", channel=failing)
                    for i in range(size.failing)]  # fmt: skip
            sent, _ = await harness.run_concurrently(size.failing, len(scenario.USERS),
                                                     lambda i: ours.send(note[i]))  # fmt: skip
            if any(status != 200 for status, _ in sent):
                raise RuntimeError("a note for the failing channel was refused")
            v["failing pending start"] = await _settled(db_url)
            await harness.wait_quiet(slack, quiet=0.5, timeout=30)
        theirs = await _bare_side(slack, bolt, bare_alerts, size, bridge, general)
        async with scenario.client_session() as session:
            ours = SignedCommands(slack, session, f"{server.url}/slack/events")
            work = scenario.plan(ours, size, bridge=bridge, general=general)
            reader = scenario.NoteReader(slack, bridge)
            first_call, violations = len(slack.calls), len(slack.rate_limit_violations)
            timeout = 120.0 if options.quick else 600.0
            lag_before = await scenario.loop_lag(session, server.url)
            cpu_before, started = server.cpu_seconds(), time.perf_counter()
            delivered = asyncio.create_task(reader.all_delivered(size.notes, started, timeout))
            sev1: list[asyncio.Task[tuple[float | None, float | None]]] = []

            def declared() -> None:
                known, sent = set(slack.channels), time.perf_counter()
                sev1.append(asyncio.create_task(
                    scenario.sev1_times(slack, known, sent, SEV1_TIMEOUT)))  # fmt: skip

            result = await scenario.run(ours, server.url, work, size.alerts, declared)
            v["cpu"] = server.cpu_seconds() - cpu_before
            v.update(scenario.lag_during(lag_before, await scenario.loop_lag(session, server.url)))
        await _check_durable(db_url, size.alerts)
        v["channel"], v["card"] = await sev1[0]
        v["notes"] = await delivered
        v["messages"] = len(reader.delivered())
        v["drained"] = await _drained(db_url, started, timeout)
        v["rss"] = server.rss_kib() / 1024
        v["failing pending end"] = (await _pending(db_url))[0]
        calls = slack.calls[first_call:]
        v["violations"] = len(slack.rate_limit_violations) - violations
    v.update(_acks(result, theirs))
    v.update(_calls(calls, failing, slack))
    return v, _by_method(calls)


async def _bare_side(
    slack: SlackEmulator, bolt: harness.ServerProcess, alerts_url: str, size: Sizes,
    bridge: str, general: str,
) -> scenario.Outcome:  # fmt: skip
    async with scenario.client_session() as session:
        theirs = SignedCommands(slack, session, f"{bolt.url}/slack/events")
        warm = [theirs.body("note warm-up", user="U0MIX01", channel=bridge) for _ in range(20)]
        await harness.run_concurrently(20, 20, lambda i: theirs.send(warm[i]))
        work = scenario.plan(theirs, size, bridge=bridge, general=general)
        return await scenario.run(theirs, alerts_url, work, size.alerts, lambda: None)


def _acks(ours: scenario.Outcome, theirs: scenario.Outcome) -> dict[str, float | None]:
    p = harness.percentile
    return {
        "p50": p(ours.acks, 50) * 1000,
        "p99": p(ours.acks, 99) * 1000,
        "storm p99": p(ours.storm_acks, 99) * 1000 if ours.storm_acks else None,
        "bare storm p99": p(theirs.storm_acks, 99) * 1000 if theirs.storm_acks else None,
        "burst p99": p(ours.burst_acks, 99) * 1000,
        "bare burst p99": p(theirs.burst_acks, 99) * 1000,
        "bare p99": p(theirs.acks, 99) * 1000,
        "ratio": p(ours.acks, 99) / p(theirs.acks, 99),
        "commands": len(ours.acks),
        "bare commands": len(theirs.acks),
        "rate": ours.alerts_per_second,
        "bare rate": theirs.alerts_per_second,
        "rate ratio": ours.alerts_per_second / theirs.alerts_per_second,
    }


def _calls(calls: list[Call], failing: str, slack: SlackEmulator) -> dict[str, float]:
    triage = next(c.id for c in slack.channels.values() if c.name == "alert-triage")

    def channel(call: Call) -> str:
        return str(call.args.get("channel") or "")

    posted = [c for c in calls if c.method == "chat.postMessage" and c.ok]
    updated = [c for c in calls if c.method == "chat.update" and c.ok]
    return {
        "calls": len(calls),
        "cards": sum(channel(c) == triage for c in posted),
        "triage updates": sum(channel(c) == triage for c in updated),
        "other updates": sum(channel(c) != triage for c in updated),
        "429": sum(c.http_status == 429 for c in calls),
        "failing 5xx": sum(c.http_status >= 500 and channel(c) == failing for c in calls),
    }


def _by_method(calls: list[Call]) -> str:
    ok = Counter(c.method for c in calls if c.ok)
    limited = Counter(c.method for c in calls if c.http_status == 429)
    failed = Counter(c.method for c in calls if c.http_status >= 500)
    parts = []
    for method in sorted(set(ok) | set(limited) | set(failed)):
        extra = [f"{n} x {s}" for n, s in ((limited[method], 429), (failed[method], "5xx")) if n]
        parts.append(f"{method} {ok[method]}" + (f" (+{', '.join(extra)})" if extra else ""))
    return ", ".join(parts)


ROWS = [  # key, metric, unit, digits
    ("p50", "ack p50, whole scenario", "ms", 1),
    ("p99", "ack p99, whole scenario", "ms", 1),
    ("burst p99", "ack p99, the note burst alone", "ms", 1),
    ("bare burst p99", "bare Bolt ack p99, the note burst alone", "ms", 1),
    ("storm p99", "ack p99, commands sent during the storm", "ms", 1),
    ("bare storm p99", "bare Bolt ack p99, commands sent during the storm", "ms", 1),
    ("bare p99", "bare Bolt ack p99, same commands (+ bare alerts)", "ms", 1),
    ("ratio", "ack p99 ratio (bridgekeeper / bare)", "x", 2),
    ("rate", "alerts/s during the storm (all 202, stored)", "alerts/s", 0),
    ("bare rate", "bare aiohttp alerts/s, same storm (+ bare Bolt)", "alerts/s", 0),
    ("rate ratio", "alert rate ratio (bridgekeeper / bare)", "x", 2),
    ("channel", "SEV1 declare to its channel (failing channel present)", "s", 2),
    ("card", "SEV1 declare to its pinned status card", "s", 2),
    ("notes", "note burst all in the bridge channel, from the first", "s", 1),
    ("messages", "messages the burst's notes took", "", 0),
    ("drained", "outbox empty but the failing channel, from the first", "s", 1),
    ("calls", "Web API calls in all", "", 0),
    ("cards", "triage cards posted", "", 0),
    ("triage updates", "chat.update of triage cards", "", 0),
    ("other updates", "chat.update elsewhere (status cards)", "", 0),
    ("429", "429 answers from the emulator", "", 0),
    ("violations", "calls made inside a 429's Retry-After", "", 0),
    ("failing 5xx", "failing channel: 503 answers", "", 0),
    ("failing pending start", "failing channel: pending effects at the start", "", 0),
    ("failing pending end", "failing channel: pending effects at the end", "", 0),
    ("cpu", "serve CPU time, scenario", "s", 1),
    ("lag samples", "serve event-loop timings (a timer every 50 ms), scenario", "", 0),
    ("lag 25", "of those, 25 ms late or more", "", 0),
    ("lag worst", "most late timing, at most (its bucket's bound)", "ms", 0),
    ("rss", "serve resident memory at the end (VmRSS)", "MiB", 1),
    ("load", "load average (1 min) when the run started", "", 2),
]


def _rows(name: str, size: Sizes, values: list[dict[str, float | None]], methods: str) -> list[Row]:
    ours, theirs = (int(statistics.median(float(v[k] or 0) for v in values))
                    for k in ("commands", "bare commands"))  # fmt: skip
    n = size.notes
    label = f"{n:,} + {ours - n:,} cmds (bare {n:,} + {theirs - n:,}), {size.alerts:,} alerts"
    rows = []
    for key, metric, unit, digits in ROWS:
        row = Row("mixed load", f"{metric} ({name})", unit=unit, digits=digits)
        found = [v[key] for v in values]
        row.samples = [float(x) for x in found if x is not None]
        missing = len(found) - len(row.samples)
        if missing:
            row.metric += f" [not reached in {missing} of {len(found)} runs]"
            row.note = "not reached"
        if key in GOALS:
            row.goal, test = GOALS[key]
            row.met = bool(row.samples) and not missing and test(row.median)
        rows.append(row)
    rows[0].metric += f" ({label})"
    rows.append(Row("mixed load", f"calls by method, last run ({name})", note=methods))
    return rows


@contextlib.asynccontextmanager
async def _bridgekeeper(
    options: Options, kind: str, round_no: int
) -> AsyncIterator[tuple[SlackEmulator, harness.ServerProcess, str, str]]:
    async with harness.emulator(rate_limits=True) as slack, harness.database(options, kind) as url:
        slack.add_people(scenario.USERS)
        people = ["UBOT", *harness.USERS, *scenario.USERS]
        general = slack.add_channel("general", members=people)
        triage = slack.add_channel("alert-triage", members=people)
        env = harness.bridgekeeper_env(
            db_url=url,
            api_url=slack.api_url,
            triage_channel=triage,
            config=harness.quick_config(options, "mixed-quick"),
        )
        server = harness.bridgekeeper_server(options, env, f"mixed-{kind}-{round_no}")
        async with harness.running(server):
            yield slack, server, url, general


async def _declare(
    slack: SlackEmulator, sender: SignedCommands, general: str, title: str, number: int
) -> str:
    """Declare an incident; its bridge channel once its card is pinned."""
    status, _ = await sender.send(sender.body(f"declare {title}", user="U0ALICE", channel=general))
    if status != 200:
        raise RuntimeError(f"declare answered {status}")

    def pinned() -> str | None:
        prefix = f"inc-{number}-"
        found = [c.id for c in slack.channels.values() if c.name.startswith(prefix) and c.pins]
        return found[0] if found else None

    if not await harness.wait_until(lambda: pinned() is not None, timeout=60, poll=0.01):
        raise RuntimeError(f"incident {number}: no channel with a pinned card")
    channel = pinned()
    assert channel is not None
    return channel


# -- the database --------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _db(url: str) -> AsyncIterator[Database]:
    db = Database(database_url(url))
    try:
        yield db
    finally:
        await db.dispose()


async def _pending(url: str) -> tuple[int, int]:
    """Pending effects: (the failing incident's, all others)."""
    async with _db(url) as db, db.sessions() as session:
        failing = await session.scalar(select(Incident.id).where(Incident.number == FAILING_NUMBER))
        rows = await session.execute(
            select(Effect.incident_id, func.count())
            .where(Effect.status == "pending")
            .group_by(Effect.incident_id)
        )
        counts = {incident: int(n) for incident, n in rows.all()}
    mine = counts.pop(failing, 0)
    return mine, sum(counts.values())


async def _settled(url: str, timeout: float = 60.0) -> int:
    """The failing incident's pending effects once every queued note has been applied (the
    count unchanged for a second)."""
    deadline, last, since = time.perf_counter() + timeout, -1, time.perf_counter()
    while time.perf_counter() < deadline:
        count = (await _pending(url))[0]
        if count != last:
            last, since = count, time.perf_counter()
        elif time.perf_counter() - since >= 1.0:
            break
        await asyncio.sleep(0.1)
    return last


async def _drained(url: str, started: float, timeout: float) -> float | None:
    """Seconds from `started` until no effect but the failing channel's was pending."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if (await _pending(url))[1] == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    return None


async def _check_durable(url: str, count: int) -> None:
    """Every 202 is a stored occurrence: the counts add up to what was sent."""
    async with _db(url) as db, db.sessions() as session:
        stored = await session.scalar(select(func.sum(Alert.occurrences)))
        alerts = await session.scalar(select(func.count()).select_from(Alert))
    if stored != count or alerts != KEYS:
        raise RuntimeError(f"stored {stored} occurrences in {alerts} alerts; sent {count}")
