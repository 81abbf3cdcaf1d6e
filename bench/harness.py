"""What every benchmark shares: databases, the emulator, server subprocesses, signed requests,
statistics and result rows.

The server under test always runs as a child process (`python -m bridgekeeper serve`, or one of
the bare baselines in bench/); the load generator and the Slack emulator run in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg

from bridgekeeper.sandbox import SlackDriver, SlackEmulator

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bridgekeeper-bench"
ALERT_TOKEN = "bench-alert-token"
USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parents[1]


# -- options and results -------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    quick: bool
    repeats: int
    pg_url: str | None  # None: PostgreSQL benchmarks are skipped
    workdir: Path
    verbose: bool = False

    def log(self, text: str) -> None:
        if self.verbose:
            print(f"  .. {text}", file=sys.stderr, flush=True)


@dataclass
class Row:
    """One line of the results table: a metric measured over repeated runs."""

    benchmark: str
    metric: str
    samples: list[float] = field(default_factory=list)
    unit: str = ""
    goal: str = ""
    met: bool | None = None  # None: no goal, or not measurable
    note: str = ""  # shown instead of numbers (e.g. "not available")
    digits: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def value_text(self) -> str:
        if not self.samples:
            return self.note or "-"
        return f"{self.median:,.{self.digits}f} {self.unit}".strip()

    def spread_text(self) -> str:
        if len(self.samples) < 2:
            return ""
        low, high = min(self.samples), max(self.samples)
        return f"{low:,.{self.digits}f} - {high:,.{self.digits}f}"

    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: ""}[self.met]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of unsorted values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def table(rows: Sequence[Row]) -> str:
    """A Markdown table: median and spread (min - max over the repeated runs)."""
    header = ("benchmark", "metric", "median", "spread (min - max)", "goal", "met")
    lines = [header] + [
        (r.benchmark, r.metric, r.value_text(), r.spread_text(), r.goal, r.verdict()) for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    divider = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(lines[0]), divider, *(fmt(line) for line in lines[1:])])


# -- databases -----------------------------------------------------------------------------------
def sqlite_url(options: Options) -> str:
    path = options.workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
    return f"sqlite:///{path}"


def _pg_dsn(url: str, database: str | None = None) -> str:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgres://", "postgresql://", 1
    )
    return dsn.rsplit("/", 1)[0] + "/" + database if database else dsn


async def pg_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(_pg_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@contextlib.asynccontextmanager
async def pg_database(url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one run (dropped afterwards)."""
    name = f"bk_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_pg_dsn(url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield _pg_dsn(url, name)
    finally:
        conn = await asyncpg.connect(_pg_dsn(url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def database(options: Options, kind: str) -> AsyncIterator[str]:
    """A fresh database URL of `kind` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        yield sqlite_url(options)
        return
    assert options.pg_url is not None
    async with pg_database(options.pg_url) as url:
        yield url


# -- the Slack emulator --------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def emulator(*, rate_limits: bool = False) -> AsyncIterator[SlackEmulator]:
    """The Slack emulator in this process, with a few users; no delays, and no rate limits
    unless `rate_limits` (then Slack's own tiers, answered with 429 and Retry-After)."""
    slack = SlackEmulator(bot_token=BOT_TOKEN, enforce_rate_limits=rate_limits)
    slack.add_people(USERS)
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


# -- servers in child processes ------------------------------------------------------------------
PORT_TRIES = 3
PORT_IN_USE = "address already in use"


class PortTaken(RuntimeError):
    """Another process bound the free port first; the server stopped, saying so."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sockets_of(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def _listening_socket(port: int) -> str | None:
    """The inode of the socket listening on 127.0.0.1's `port`, if any."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
            return fields[9]
    return None


class ServerProcess:
    """A web server in a child process: started, awaited on a health URL, stopped."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, health: str) -> None:
        self.command = argv
        self.env = {**os.environ, **env, "PYTHONPATH": _pythonpath()}
        self.log = log
        self.health = health
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._choose_port()

    def _choose_port(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [*self.command, "--port", str(self.port)]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 60.0) -> None:
        """Start it, on another port if another process took this one meanwhile (free_port's
        race: the server stops, saying the address is in use)."""
        for tries_left in reversed(range(PORT_TRIES)):
            started = time.perf_counter()
            self._spawn()
            try:
                await self._wait_healthy(started + timeout - time.perf_counter())
            except PortTaken:
                if not tries_left:
                    raise
                self._choose_port()
            else:
                self.startup_seconds = time.perf_counter() - started
                return

    def _spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )

    async def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # each check gives up soon: the port may be another process's that never answers
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(self.url + self.health) as response:
                        if response.status == 200 and self._listening():
                            return
                await asyncio.sleep(0.01)
        failed = f"server did not start: {' '.join(self.argv)}\n{self.log_tail()}"
        raise PortTaken(failed) if PORT_IN_USE in self.log_tail(3) else RuntimeError(failed)

    def _listening(self) -> bool:
        """Whether this process holds the socket listening on its port (Linux's /proc): a
        health check that another process answered (one that took the port first) does not
        count."""
        if self.process is None or self.process.poll() is not None:
            return False
        return _listening_socket(self.port) in _sockets_of(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def rss_kib(self) -> int:
        """Resident memory of the process now (VmRSS, KiB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process (all its threads) has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        """SIGTERM, and wait for it to exit (killed after 15 s). The wait leaves the event loop
        free: a stopping server still calls the emulator this process runs (a blocking wait
        held each stop until the server's Slack calls timed out, about 11 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 5)
                return
            await asyncio.sleep(0.02)


def _pythonpath() -> str:
    """The repo root (for bench/) plus whatever the caller had."""
    parts = [str(REPO), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in parts if p)


def bridgekeeper_env(
    *, db_url: str, api_url: str, triage_channel: str | None = None, config: Path | None = None
) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": db_url,
        "BRIDGEKEEPER_ALERT_TOKEN": ALERT_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    if triage_channel:
        env["BRIDGEKEEPER_TRIAGE_CHANNEL"] = triage_channel
    if config is not None:
        env["BRIDGEKEEPER_CONFIG"] = str(config)
    return env


QUICK_CARD_REFRESH = 2  # seconds between updates of a repeating alert's card (quick runs)
QUICK_CARDS_PER_MINUTE = 5  # new triage cards a minute before the digest (quick runs)


def quick_config(options: Options, name: str) -> Path | None:
    """Quick runs' [alerts] settings, so that their cards, posted at Slack's pace (about one
    a second in a channel), take seconds; None (the shipped settings) otherwise."""
    if not options.quick:
        return None
    path = options.workdir / f"{name}.toml"
    path.write_text(
        f"[alerts]\ncard_refresh_seconds = {QUICK_CARD_REFRESH}\n"
        f"triage_cards_per_minute = {QUICK_CARDS_PER_MINUTE}\n"
    )
    return path


def bridgekeeper_server(options: Options, env: dict[str, str], name: str) -> ServerProcess:
    return ServerProcess(
        [sys.executable, "-m", "bridgekeeper", "serve", "--host", "127.0.0.1"],
        env,
        options.workdir / f"{name}.log",
        "/healthz",
    )


def bench_server(options: Options, module: str, env: dict[str, str], name: str) -> ServerProcess:
    """One of the bare baselines in bench/ (run as `python -m bench.<module>`)."""
    return ServerProcess(
        [sys.executable, "-m", f"bench.{module}"], env, options.workdir / f"{name}.log", "/healthz"
    )


@contextlib.asynccontextmanager
async def running(server: ServerProcess) -> AsyncIterator[ServerProcess]:
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


# -- load ----------------------------------------------------------------------------------------
class SignedCommands:
    """Slash commands signed like Slack (and like SlackDriver), sent on a shared session."""

    def __init__(self, slack: SlackEmulator, session: aiohttp.ClientSession, url: str) -> None:
        self.slack = slack
        self.session = session
        self.url = url
        self.driver = SlackDriver(slack, url, SIGNING_SECRET)

    def body(self, text: str, *, user: str, channel: str) -> bytes:
        target = self.slack.channels[channel]
        fields = {
            "token": self.driver.verification_token,
            "team_id": self.slack.team_id,
            "team_domain": self.slack.team_domain,
            "channel_id": target.id,
            "channel_name": target.name,
            "user_id": user,
            "user_name": USERS.get(user, user.lower()),
            "command": "/incident",
            "text": text,
            "api_app_id": self.slack.app_id,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(channel=target.id, user=user),
            "trigger_id": self.slack.new_trigger_id(user),
        }
        return urlencode(fields).encode()

    async def send(self, body: bytes) -> tuple[int, float]:
        """(status, seconds until the whole answer was read)"""
        headers = {"Content-Type": "application/x-www-form-urlencoded", **self.driver.sign(body)}
        started = time.perf_counter()
        async with self.session.post(self.url, data=body, headers=headers) as response:
            await response.read()
            return response.status, time.perf_counter() - started


async def run_concurrently(
    count: int, concurrency: int, one: Callable[[int], Any]
) -> tuple[list[Any], float]:
    """Run `one(i)` for i in range(count), at most `concurrency` at a time; (results, seconds)."""
    limit = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> Any:
        async with limit:
            return await one(i)

    started = time.perf_counter()
    results = await asyncio.gather(*(guarded(i) for i in range(count)))
    return list(results), time.perf_counter() - started


def client_session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))


async def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(poll)
    return condition()


async def wait_quiet(slack: SlackEmulator, quiet: float, timeout: float) -> bool:
    """Until the emulator has had no Web API call for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = len(slack.calls), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if len(slack.calls) != seen:
            seen, since = len(slack.calls), time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="bridgekeeper-bench-")
