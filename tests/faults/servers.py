"""Real `bridgekeeper serve` processes for the crash and replica tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from tests.conftest import ALERT_TOKEN, BOT_TOKEN, SIGNING_SECRET


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
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": db_url,
            "BRIDGEKEEPER_ALERT_TOKEN": ALERT_TOKEN,
            "PORT": str(self.port),
            **(env or {}),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bridgekeeper", *self.command],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def start(self, timeout: float = 30.0) -> None:
        self.spawn()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    break
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not start:\n" + self.log.read_text())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

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
