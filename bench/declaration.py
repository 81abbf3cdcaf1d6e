"""4. Declaration: Web API calls per declared incident, and the time from the signed
`/incident declare` command to the bridge channel existing with the status card pinned in it,
with the emulator answering at once (no injected latency, no rate limits).

Incidents are declared one after another; each is left to finish (no Web API call for a
moment) before the next, so the calls counted are that incident's alone.
"""

from __future__ import annotations

import time
from collections import Counter

from bench import harness
from bench.harness import Options, Row, SignedCommands
from bridgekeeper.sandbox import SlackEmulator

GOAL_CALLS = 8


def sizes(options: Options) -> int:
    return 2 if options.quick else 20


async def run(options: Options) -> list[Row]:
    count = sizes(options) * options.repeats
    seconds = Row("declaration", "command to channel + pinned card", unit="ms")
    calls = Row("declaration", "Web API calls per incident", digits=0)
    methods: Counter[str] = Counter()
    async with harness.emulator() as slack, harness.database(options, "sqlite") as db_url:
        general = slack.add_channel("general", members=list(harness.USERS))
        env = harness.bridgekeeper_env(db_url=db_url, api_url=slack.api_url)
        server = harness.bridgekeeper_server(options, env, "declare")
        async with harness.running(server), harness.client_session(1) as session:
            sender = SignedCommands(slack, session, f"{server.url}/slack/events")
            for number in range(1, count + 1):
                took, made = await declare(slack, sender, general, number)
                seconds.samples.append(took * 1000)
                calls.samples.append(sum(made.values()))
                methods.update(made)
    calls.goal, calls.met = f"<= {GOAL_CALLS}", max(calls.samples) <= GOAL_CALLS
    per_incident = ", ".join(f"{m} {n / count:g}" for m, n in sorted(methods.items()))
    seconds.metric += f" ({count} incidents, in turn)"
    breakdown = Row("declaration", "calls by method, per incident", note=per_incident)
    return [seconds, calls, breakdown]


async def declare(
    slack: SlackEmulator, sender: SignedCommands, channel: str, number: int
) -> tuple[float, Counter[str]]:
    """(seconds from sending the command to the pinned card, Web API calls by method)"""
    before = len(slack.calls)
    body = sender.body(f"declare Benchmark incident {number} sev2", user="U0ALICE", channel=channel)
    started = time.perf_counter()
    status, _ = await sender.send(body)
    if status != 200:
        raise RuntimeError(f"declare answered {status}")
    prefix = f"inc-{number}-"
    if not await harness.wait_until(lambda: _pinned(slack, prefix), timeout=30, poll=0.001):
        raise RuntimeError(f"incident {number}: no channel with a pinned card")
    took = time.perf_counter() - started
    await harness.wait_quiet(slack, quiet=0.3, timeout=30)
    return took, Counter(call.method for call in slack.calls[before:])


def _pinned(slack: SlackEmulator, prefix: str) -> bool:
    return any(c.name.startswith(prefix) and c.pins for c in slack.channels.values())
