"""1. Ack latency: signed `/incident note` commands in a bridge channel, against bridgekeeper and
against a bare Bolt app that only acks, in the same run.

The latency of one command is from sending the request to having read the whole answer (the
ack), measured by the load generator. bridgekeeper does the note's work after the ack (database,
outbox, response_url, the worker's Slack calls) while later commands arrive, as in production.
"""

from __future__ import annotations

from bench import harness
from bench.harness import Options, Row, SignedCommands

CONCURRENCY = 20
GOAL_RATIO = 1.5
GOAL_P99_MS = 100.0


def sizes(options: Options) -> int:
    return 100 if options.quick else 2000


async def run(options: Options) -> list[Row]:
    count = sizes(options)
    rows = {
        name: Row("ack latency", name, unit="ms")
        for name in (
            "bridgekeeper p50", "bridgekeeper p95", "bridgekeeper p99",
            "bare Bolt p50", "bare Bolt p95", "bare Bolt p99",
        )
    }  # fmt: skip
    ratio = Row("ack latency", "p99 ratio (bridgekeeper / bare)", unit="x", digits=2)
    cpu = {
        name: Row("ack latency", f"{name} server CPU per command", unit="ms", digits=2)
        for name in ("bridgekeeper", "bare Bolt")
    }
    async with harness.emulator() as slack, harness.database(options, "sqlite") as db_url:
        env = harness.bridgekeeper_env(db_url=db_url, api_url=slack.api_url)
        bk = harness.bridgekeeper_server(options, env, "ack-bridgekeeper")
        bare = harness.bench_server(options, "bare_bolt", env, "ack-bare-bolt")
        async with harness.running(bk), harness.running(bare):
            bridge = await declare_bridge(slack, bk.url)
            for round_no in range(options.repeats):
                options.log(f"ack latency round {round_no + 1}: {count} commands each")
                ours = await load(slack, bk, bridge, count, cpu["bridgekeeper"])
                theirs = await load(slack, bare, bridge, count, cpu["bare Bolt"])
                for label, samples in (("bridgekeeper", ours), ("bare Bolt", theirs)):
                    for pct in (50, 95, 99):
                        rows[f"{label} p{pct}"].samples.append(
                            harness.percentile(samples, pct) * 1000
                        )
                ratio.samples.append(harness.percentile(ours, 99) / harness.percentile(theirs, 99))
    p99 = rows["bridgekeeper p99"]
    p99.goal, p99.met = f"< {GOAL_P99_MS:.0f} ms", p99.median < GOAL_P99_MS
    ratio.goal, ratio.met = f"<= {GOAL_RATIO}", ratio.median <= GOAL_RATIO
    for row in rows.values():
        row.metric = f"{row.metric} ({count:,} cmds, conc. {CONCURRENCY})"
    return [*rows.values(), ratio, *cpu.values()]


async def declare_bridge(slack: harness.SlackEmulator, url: str) -> str:
    """Declare an incident through Slack; its bridge channel id once the card is pinned."""
    general = slack.add_channel("general", members=list(harness.USERS))
    async with harness.client_session(1) as session:
        sender = SignedCommands(slack, session, f"{url}/slack/events")
        status, _ = await sender.send(
            sender.body("declare Benchmark incident sev2", user="U0ALICE", channel=general)
        )
    if status != 200:
        raise RuntimeError(f"declare answered {status}")
    if not await harness.wait_until(lambda: _bridge(slack) is not None, timeout=30):
        raise RuntimeError("the bridge channel was not created")
    channel = _bridge(slack)
    assert channel is not None
    await harness.wait_quiet(slack, quiet=0.3, timeout=30)
    return channel


def _bridge(slack: harness.SlackEmulator) -> str | None:
    for channel in slack.channels.values():
        if channel.name.startswith("inc-") and channel.pins:
            return channel.id
    return None


async def load(
    slack: harness.SlackEmulator, server: harness.ServerProcess, channel: str, count: int,
    cpu: Row,
) -> list[float]:  # fmt: skip
    """Latencies (seconds) of `count` note commands sent CONCURRENCY at a time; the server's
    CPU time per command, including the work it does after the ack, is added to `cpu`."""
    async with harness.client_session(CONCURRENCY) as session:
        sender = SignedCommands(slack, session, f"{server.url}/slack/events")
        bodies = [
            sender.body(f"note benchmark note {i}", user="U0BOB", channel=channel)
            for i in range(count)
        ]
        await _warm_up(sender, channel)

        async def one(i: int) -> float:
            status, seconds = await sender.send(bodies[i])
            if status != 200:
                raise RuntimeError(f"command answered {status}")
            return seconds

        before = server.cpu_seconds()
        latencies, _ = await harness.run_concurrently(count, CONCURRENCY, one)
        await harness.wait_quiet(slack, quiet=0.5, timeout=120)  # the work after the acks
        cpu.samples.append((server.cpu_seconds() - before) / count * 1000)
    return latencies


async def _warm_up(sender: SignedCommands, channel: str) -> None:
    """Open the connections first, so both servers are measured with warm keep-alive pools."""
    bodies = [
        sender.body("note warm-up", user="U0BOB", channel=channel) for _ in range(CONCURRENCY)
    ]
    await harness.run_concurrently(CONCURRENCY, CONCURRENCY, lambda i: sender.send(bodies[i]))
