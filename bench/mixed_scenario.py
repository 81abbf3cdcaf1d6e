"""The load of the mixed-load benchmark (bench/mixed_load.py), the same for bridgekeeper and for
the bare baselines: a burst of note commands from many users, then an alert storm with a steady
trickle of commands and one SEV1 declaration in its middle. Also the watchers that read, from
the emulator, when bridgekeeper's deliveries arrived.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench import harness
from bench.harness import SignedCommands
from bridgekeeper.sandbox import SlackEmulator

USERS = {f"U0MIX{n:02d}": f"user{n:02d}" for n in range(1, 21)}  # 20 concurrent users
SENDERS = 20  # concurrent alert senders
KEYS = 50
TRICKLE_INTERVAL = 0.5  # seconds between one user's commands during the storm
NOTE = re.compile(r"mixnote-(\d+)")
Declared = Callable[[], None]
Trickle = Callable[[int, int], bytes]  # (user number, command number) -> a signed note


@dataclass(frozen=True)
class Sizes:
    notes: int  # the burst (the backlog of notes to deliver)
    alerts: int  # the storm
    trickle: int  # commands per user during the storm, at least (more while it lasts)
    failing: int  # notes queued for the failing channel before the scenario


@dataclass
class Plan:
    """Every request of one side's scenario, built (and given response_urls) before it starts."""

    burst: list[list[bytes]]  # per user
    trickle: Trickle
    trickle_min: int
    declare: bytes
    alerts: list[bytes]  # one body per dedup key, resent byte for byte


@dataclass
class Outcome:
    acks: list[float] = field(default_factory=list)  # every command, seconds
    storm_acks: list[float] = field(default_factory=list)  # commands sent during the storm
    burst_acks: list[float] = field(default_factory=list)  # the burst's commands
    storm_seconds: float = 0.0
    alerts: int = 0

    @property
    def alerts_per_second(self) -> float:
        return self.alerts / self.storm_seconds


def alert_body(key: int) -> bytes:
    """Alertmanager's webhook for one firing alert; it resends exactly these bytes."""
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "MixedDiskFull",
            "instance": f"mixed-{key:02d}:9100",
            "job": "node",
            "severity": "critical",
        },
        "annotations": {
            "summary": f"Disk almost full on mixed-{key:02d}",
            "description": "/var is 97% full.",
        },
        "startsAt": "2025-11-14T10:06:45.123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph",
        "fingerprint": f"mixed{key:011d}",
    }
    body = {
        "version": "4",
        "receiver": "bridgekeeper",
        "status": "firing",
        "groupKey": f'{{}}:{{alertname="MixedDiskFull", instance="mixed-{key:02d}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": "MixedDiskFull", "instance": f"mixed-{key:02d}"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "alerts": [alert],
        "externalURL": "http://alertmanager.example:9093",
    }
    return json.dumps(body).encode()


def plan(sender: SignedCommands, sizes: Sizes, *, bridge: str, general: str) -> Plan:
    users = list(USERS)
    burst: list[list[bytes]] = [[] for _ in users]
    for i in range(sizes.notes):
        user = users[i % len(users)]
        text = f"note mixnote-{i:05d} from {USERS[user]}: checked the load balancer"
        burst[i % len(users)].append(sender.body(text, user=user, channel=bridge))

    def trickle(user: int, k: int) -> bytes:
        name = USERS[users[user]]
        return sender.body(f"note trickle {k} from {name}", user=users[user], channel=bridge)

    declare = sender.body("declare Mixed load checkout outage sev1", user=users[0], channel=general)
    alerts = [alert_body(key) for key in range(KEYS)]
    return Plan(burst, trickle, sizes.trickle, declare, alerts)


async def run(
    sender: SignedCommands, alerts_url: str, plan: Plan, count: int, declared: Declared
) -> Outcome:
    """The scenario against one side; `declared` is called just before the SEV1 is sent."""
    out = Outcome()
    storming = False

    async def command(body: bytes) -> float:
        during = storming
        status, seconds = await sender.send(body)
        if status != 200:
            raise RuntimeError(f"a command was answered {status}")
        out.acks.append(seconds)
        if during:
            out.storm_acks.append(seconds)
        return seconds

    async def burst(bodies: list[bytes]) -> None:
        for body in bodies:
            out.burst_acks.append(await command(body))

    async def trickle(user: int) -> None:
        """One user's notes, one every TRICKLE_INTERVAL, for as long as the storm lasts."""
        await asyncio.sleep(user * TRICKLE_INTERVAL / len(USERS))  # spread the users
        k = 0
        while k < plan.trickle_min or storming:
            body = plan.trickle(user, k)
            started = time.perf_counter()
            await command(body)
            k += 1
            await asyncio.sleep(max(0.0, TRICKLE_INTERVAL - (time.perf_counter() - started)))

    half = asyncio.Event()

    async def declare() -> None:
        await half.wait()
        declared()
        await command(plan.declare)

    async def storm() -> None:
        nonlocal storming
        try:
            out.storm_seconds = await _storm(alerts_url, plan.alerts, count, half)
            out.alerts = count
        finally:
            storming = False
            half.set()  # the declaration is sent even if the storm failed

    await asyncio.gather(*(burst(bodies) for bodies in plan.burst))
    storming = True  # from here: the trickle starts with the storm
    await asyncio.gather(storm(), declare(), *(trickle(u) for u in range(len(USERS))))
    return out


async def _storm(url: str, bodies: list[bytes], count: int, half: asyncio.Event) -> float:
    """POST `count` webhooks SENDERS at a time (body i % KEYS); seconds until all were
    answered. Every answer must be 202."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {harness.ALERT_TOKEN}"}
    refused: Counter[int] = Counter()
    answered = 0
    async with harness.client_session(SENDERS) as session:

        async def one(i: int) -> None:
            nonlocal answered
            async with session.post(
                f"{url}/alerts/alertmanager", data=bodies[i % len(bodies)], headers=headers
            ) as response:
                await response.read()
                if response.status != 202:
                    refused[response.status] += 1
            answered += 1
            if answered == count // 2:
                half.set()

        _, seconds = await harness.run_concurrently(count, SENDERS, one)
    if refused:
        raise RuntimeError(f"alerts not accepted: {dict(refused)}")
    return seconds


# -- watchers (bridgekeeper's side) --------------------------------------------------------------
async def sev1_times(
    slack: SlackEmulator, known: set[str], sent: float, timeout: float
) -> tuple[float | None, float | None]:
    """Seconds from `sent` until a new incident channel existed, and until a card was pinned
    in it (None: not within `timeout`)."""
    channel_at: float | None = None
    deadline = sent + timeout
    while time.perf_counter() < deadline:
        for channel in list(slack.channels.values()):
            if channel.id in known or not channel.name.startswith("inc-"):
                continue
            now = time.perf_counter() - sent
            channel_at = now if channel_at is None else channel_at
            if channel.pins:
                return channel_at, now
        await asyncio.sleep(0.005)
    return channel_at, None


LAG = "bridgekeeper_event_loop_lag_seconds"


async def loop_lag(session: aiohttp.ClientSession, url: str) -> dict[float, float]:
    """serve's event-loop timings so far, by bucket: upper bound (s) -> how many, cumulative."""
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    return {
        float(sample.labels["le"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == LAG
        for sample in family.samples
        if sample.name == f"{LAG}_bucket"
    }


def lag_during(before: dict[float, float], after: dict[float, float]) -> dict[str, float | None]:
    """How many timings there were between two scrapes, how many were 25 ms late or more,
    and the bucket the most late fell in (its upper bound, ms; none without a timing)."""
    counts = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    total = counts.get(float("inf"), 0.0)
    under_25 = counts.get(0.025, 0.0)
    worst = min((b for b, n in counts.items() if n == total), default=float("inf"))
    return {
        "lag samples": total,
        "lag 25": total - under_25,
        "lag worst": worst * 1000 if total else None,
    }


class NoteReader:
    """Which burst notes have reached the bridge channel, and in how many messages."""

    def __init__(self, slack: SlackEmulator, channel: str) -> None:
        self.slack = slack
        self.channel = channel
        self._seen: dict[str, set[int]] = {}  # message ts -> notes in it

    def delivered(self) -> dict[str, set[int]]:
        for message in self.slack.messages(self.channel):
            if message.ts not in self._seen and not message.deleted:
                text = message.text + json.dumps(message.blocks)
                self._seen[message.ts] = {int(n) for n in NOTE.findall(text)}
        return {ts: notes for ts, notes in self._seen.items() if notes}

    def notes(self) -> set[int]:
        return set().union(*self.delivered().values())

    async def all_delivered(self, count: int, started: float, timeout: float) -> float | None:
        """Seconds from `started` until all `count` notes were in the channel (None: not
        within `timeout` of starting to wait)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if len(self.notes()) >= count:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
        return None


def client_session() -> aiohttp.ClientSession:
    """For one side's commands: the users, and the declaration."""
    return harness.client_session(len(USERS) + 1)
