"""What the PagerDuty REST and GoAlert emulators share: a real server on a free port, people with
e-mails, shifts, a token to check, and injected faults.

Faults: `fail(status, times)` answers the next calls with that status; `outage(status)` answers
every call with it until `outage(None)`; `stall(seconds)` holds every answer that long (a client
with a shorter timeout gives up) until `stall(0)`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from bridgekeeper.sandbox.loopback import serve
from bridgekeeper.sandbox.trackers.base import Faults


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str


@dataclass(frozen=True)
class Duty:
    """One person on call for a schedule (and, in PagerDuty, an escalation policy's level)."""

    person: str  # a Person id
    schedule: str | None
    start: datetime | None  # None with end None: on call permanently (PagerDuty)
    end: datetime | None
    escalation_policy: str | None = None
    level: int = 1


@dataclass
class ToolEmulator:
    token: str
    people: dict[str, Person] = field(default_factory=dict)
    duties: list[Duty] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    calls: int = 0
    stalled: float = 0.0
    url: str = ""
    _runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    def unauthorized(self) -> web.Response:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(middlewares=[self._guard])
        app.add_routes(self.routes())
        self._runner, self.url = await serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.shutdown()
            await self._runner.cleanup()

    def add_person(self, person_id: str, name: str, email: str) -> Person:
        self.people[person_id] = Person(person_id, name, email)
        return self.people[person_id]

    def add_duty(self, duty: Duty) -> None:
        self.duties.append(duty)

    def fail(self, status: int, times: int = 1) -> None:
        self.faults.fail_status, self.faults.fail_times = status, times

    def outage(self, status: int | None) -> None:
        self.faults.outage_status = status

    def stall(self, seconds: float) -> None:
        self.stalled = seconds

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls += 1
        if self.stalled:
            await asyncio.sleep(self.stalled)
        status = self.faults.take()
        if status is not None:
            return web.json_response({"error": {"message": "injected fault"}}, status=status)
        if not self.authorized(request):
            return self.unauthorized()
        return await handler(request)


def overlaps(duty: Duty, start: datetime, end: datetime) -> bool:
    """Whether a duty covers any of [start, end) (a permanent one covers all of it)."""
    if duty.start is None or duty.end is None:
        return True
    return duty.start < end and duty.end > start
