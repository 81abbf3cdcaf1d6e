"""What every tracker emulator shares: the server, its issues, and injected faults.

Faults: `fail(status, times)` answers the next calls with that status; `lose_answers(times)`
carries out the next creations and then drops the answer (a 502 after the issue exists), as a
proxy timing out would; `outage(status)` answers everything with it until cleared.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bridgekeeper.sandbox.loopback import serve

JsonDict = dict[str, Any]


@dataclass
class Faults:
    fail_status: int = 0
    fail_times: int = 0
    lost_answers: int = 0
    outage_status: int | None = None

    def take(self) -> int | None:
        if self.outage_status is not None:
            return self.outage_status
        if self.fail_times > 0:
            self.fail_times -= 1
            return self.fail_status
        return None

    def lose(self) -> bool:
        if self.lost_answers > 0:
            self.lost_answers -= 1
            return True
        return False


@dataclass
class TrackerEmulator:
    """A tracker on a real port: subclasses add their routes in `routes()`."""

    token: str
    faults: Faults = field(default_factory=Faults)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    _runner: web.AppRunner | None = None
    url: str = ""

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(middlewares=[self._guard])
        app.add_routes(self.routes())
        self._runner, self.url = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, status: int, times: int = 1) -> None:
        self.faults.fail_status, self.faults.fail_times = status, times

    def lose_answers(self, times: int = 1) -> None:
        self.faults.lost_answers = times

    def outage(self, status: int | None) -> None:
        self.faults.outage_status = status

    def creations(self) -> int:
        return sum(1 for method, path in self.calls if method == "POST")

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append((request.method, request.path))
        status = self.faults.take()
        if status is not None:
            return web.json_response({"message": "injected fault"}, status=status)
        if not self.authorized(request):
            return web.json_response({"message": "Bad credentials"}, status=401)
        return await handler(request)


def encode(body: JsonDict) -> bytes:
    return json.dumps(body).encode()


async def send_webhook(url: str, data: bytes, headers: dict[str, str]) -> int:
    """Deliver a webhook as the tracker would: a JSON POST; the answer's status."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, data=data, headers={"Content-Type": "application/json", **headers}
        ) as answer,
    ):
        return answer.status


def hmac_sha256(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
