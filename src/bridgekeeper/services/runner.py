"""From a typed command to the service that applies it, and the reply the user sees."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bridgekeeper.config import Settings
from bridgekeeper.domain import commands
from bridgekeeper.domain.commands import Command, UsageError
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.incidents import IncidentService


@dataclass(frozen=True)
class Reply:
    """A message for the user who issued the command: a template and its variables."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


class CommandRunner:
    def __init__(
        self, *, settings: Settings, renderer: Renderer, incidents: IncidentService
    ) -> None:
        self.settings = settings
        self.renderer = renderer
        self.incidents = incidents
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Counts commands being handled after their ack (the demo and tests wait for zero)."""
        self.in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def render(self, reply: Reply) -> str:
        return self.renderer.slack(reply.template, **self._common(), **reply.context)

    def _common(self) -> dict[str, Any]:
        process = self.settings.process
        return {
            "command": "/incident",
            "roles": list(process.roles),
            "severities": [
                {"name": s.label, "meaning": m} for s, m in process.severity_meanings.items()
            ],
            "stages": [s.label for s in process.stages],
        }

    def immediate_reply(self, parsed: Command | UsageError, *, command: str) -> Reply | None:
        """What can be answered without touching the database, inside the ack."""
        if isinstance(parsed, UsageError):
            return Reply(
                "usage.md.j2",
                {
                    "subcommand": parsed.subcommand,
                    "problem": parsed.problem,
                    "detail": parsed.detail,
                },
            )
        if isinstance(parsed, commands.Help):
            return Reply("help.md.j2", {"topic": parsed.topic})
        return None

    def acknowledgement(self, parsed: Command | UsageError) -> Reply | None:
        if isinstance(parsed, commands.Declare):
            return Reply("slack/declaring.md.j2", {"title": parsed.title})
        return None

    async def run(
        self, parsed: Command, *, user: str, channel: str, trigger_id: str | None = None
    ) -> Reply | None:
        if isinstance(parsed, commands.Declare):
            declared = await self.incidents.declare(
                user=user, title=parsed.title, severity=parsed.severity, private=parsed.private
            )
            return Reply(
                "slack/declared.md.j2", {"number": declared.number, "title": declared.title}
            )
        return Reply("slack/not_available.md.j2", {"subcommand": type(parsed).__name__})
