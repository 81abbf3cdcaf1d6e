"""From a typed command to the service that applies it, and the reply the user sees.

Services register a handler per command type (`runner.on(SetSeverity, handler)`); the Slack
listener parses, acks, and calls `run()`. Replies are templates, rendered here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from bridgekeeper.config import Settings
from bridgekeeper.domain import commands
from bridgekeeper.domain.commands import Command, UsageError
from bridgekeeper.pending_answers import PendingAnswers
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.access import Access
from bridgekeeper.slots import InFlight, Slots


@dataclass(frozen=True)
class Reply:
    """A message for the user who issued the command: a template and its variables."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Invocation:
    """Who ran a command, where, and how to answer them."""

    user: str
    channel: str
    trigger_id: str | None = None
    response_url: str | None = None
    from_card: bool = False  # a status card's button or modal, not text typed in a channel


Handler = Callable[[Any, Invocation], Awaitable[Reply | None]]
WORKING_AT_ONCE = 6  # commands applied concurrently after their ack
DECLARATION, OTHER = 0, 1  # kinds of command waiting for a slot, the most urgent first


class CommandRunner:
    def __init__(
        self, *, settings: Settings, renderer: Renderer, access: Access, answers: PendingAnswers
    ) -> None:
        self.settings = settings
        self.answers = answers
        self.renderer = renderer
        self.access = access
        self.handlers: dict[type, Handler] = {}
        self._busy = InFlight()
        self._working = Slots(WORKING_AT_ONCE, kinds=2, choose=_most_urgent)

    def on(self, command_type: type, handler: Handler) -> None:
        self.handlers[command_type] = handler

    def busy(self) -> AbstractContextManager[None]:
        """Counts work being done after an ack: stopping waits for zero (app.py), so what a
        user was told is under way is stored first; the demo and tests wait for it too."""
        return self._busy.counting()

    @property
    def in_flight(self) -> int:
        return self._busy.count

    async def wait_idle(self) -> None:
        await self._busy.wait_none()

    def render(self, reply: Reply) -> str:
        return self.renderer.slack(reply.template, **{**self.common(), **reply.context})

    def common(self) -> dict[str, Any]:
        process = self.settings.process
        return {
            "command": "/incident",
            "roles": list(process.roles),
            "severities": [
                {"name": s.label, "meaning": m} for s, m in process.severity_meanings.items()
            ],
            "stages": [s.label for s in process.stages],
        }

    def immediate_reply(self, parsed: Command | UsageError) -> Reply | None:
        """What can be answered without touching the database, inside the ack."""
        if isinstance(parsed, UsageError):
            return usage(parsed)
        if isinstance(parsed, commands.Help):
            return Reply("help.md.j2", {"topic": parsed.topic})
        return None

    def acknowledgement(self, parsed: Command) -> Reply | None:
        if isinstance(parsed, commands.Declare):
            return Reply("slack/declaring.md.j2", {"title": parsed.title})
        return None

    async def run(self, parsed: Command, invocation: Invocation) -> Reply | None:
        handler = self.handlers.get(type(parsed))
        if handler is None:
            return Reply("slack/not_available.md.j2", {"subcommand": type(parsed).__name__})
        # A burst of commands must not starve the acks of the next; a declaration goes first,
        # and in its slot waits only for the few commands holding one (pending_answers.py).
        async with self._working.slot(
            DECLARATION if isinstance(parsed, commands.Declare) else OTHER
        ):
            await self.answers.turn()
            await self.access.prepare()
            return await handler(parsed, invocation)


def _most_urgent(waiting: Sequence[int], last: int) -> int:
    return min(waiting)


def usage(error: UsageError) -> Reply:
    return Reply(
        "usage.md.j2",
        {"subcommand": error.subcommand, "problem": error.problem, "detail": error.detail},
    )
