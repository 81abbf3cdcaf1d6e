"""Real `bridgekeeper serve` processes for the crash and replica tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from tests import preloaded
from tests.conftest import ALERT_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.preloaded import Forked

PORT_TRIES = 3
PORT_IN_USE = "address already in use"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def socket_mode(app_token: str) -> dict[str, str]:
    """The environment of a process serving Slack over Socket Mode only."""
    return {"SLACK_APP_TOKEN": app_token, "SLACK_SIGNING_SECRET": ""}


class Server:
    """`python -m bridgekeeper serve` in a child process, its output in a log file."""

    command: tuple[str, ...] = ("serve", "--host", "127.0.0.1")

    def __init__(
        self, *, db_url: str, api_url: str, log: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": db_url,
            "BRIDGEKEEPER_ALERT_TOKEN": ALERT_TOKEN,
            **(env or {}),
        }
        self.log = log
        self.process: Forked | subprocess.Popen[bytes] | None = None
        self._choose_port()

    def _choose_port(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env["PORT"] = str(self.port)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        """`python -m bridgekeeper COMMAND`, forked from a process that imported it already."""
        with self.log.open("ab") as out:
            self.process = preloaded.start(
                list(self.command), env=self.env, stdout=out.fileno(), stderr=out.fileno()
            )

    async def start(self, timeout: float = 30.0) -> None:
        """Start it, on another port if another process took this one meanwhile (free_port's
        race: serve stops, saying the address is in use)."""
        for tries_left in reversed(range(PORT_TRIES)):
            self.spawn()
            if await self._healthy(timeout):
                return
            last_line = self.output().rstrip().rpartition("\n")[2]
            if not tries_left or PORT_IN_USE not in last_line:
                raise AssertionError("server did not start:\n" + self.output())
            self._choose_port()

    async def _healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        # each check gives up soon: the port may be another process's that never answers
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    return False
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"{self.url}/healthz") as response:
                        # another process may have taken the port first: its answer is not ours
                        if response.status == 200 and self._listening():
                            return True
                await asyncio.sleep(0.1)
        return False

    def _listening(self) -> bool:
        """Whether this process said it listens on its port (`serve`: "listening on URL"; a
        worker: "worker health on http://0.0.0.0:PORT"): another process may have taken the
        port first, and its health answer is not this one's."""
        return re.search(rf" on http://[\w.]+:{self.port}(?!\d)", self.output()) is not None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended after `timeout`. The wait leaves this test's
        event loop running: the emulator answers from it, and a stopping server first finishes
        the Slack calls it started (waiting without the loop, each stop ran into the SIGKILL)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        with contextlib.suppress(AssertionError):
            await wait_for(lambda: process.poll() is not None, timeout)
        if process.poll() is None:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


async def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


class Worker(Server):
    """`python -m bridgekeeper worker` in a child process (no HTTP: `spawn()`, not `start()`)."""

    command = ("worker",)
