"""The exceptions bridgekeeper raises inside; the edges translate them once.

BridgekeeperError
├── ConfigError            invalid settings: start-up stops with each key and its problem
├── SchemaOutOfDate        the database needs `bridgekeeper db upgrade`
├── SlackRejected          Slack refused a token, or it lacks scopes: start-up stops, one line
├── CommandRefused         a valid command that cannot be applied (the user is told why)
│   ├── IncidentNotFound
│   ├── NotInBridgeChannel
│   └── PermissionDenied
└── SlackError             a Web API call failed for good (after retries)
    └── SlackRetryable     a call that may succeed later (429, 5xx, timeout)
"""

from __future__ import annotations

from collections.abc import Sequence


class BridgekeeperError(Exception):
    pass


class ConfigError(BridgekeeperError):
    """`key` and `problem` are the first of `problems`: every (key, problem) found at once."""

    def __init__(self, key: str, problem: str, *, more: Sequence[tuple[str, str]] = ()) -> None:
        self.problems = [(key, problem), *more]
        super().__init__("\n".join(self.lines()))
        self.key = key
        self.problem = problem

    def lines(self) -> list[str]:
        return [f"config: {key}: {problem}" for key, problem in self.problems]


class SchemaOutOfDate(BridgekeeperError):
    """The database's schema is not this version's; `newer`: a newer version's (an upgrade
    rolling out, which this version keeps working with until it is replaced)."""

    def __init__(self, problem: str, *, newer: bool = False) -> None:
        super().__init__(problem)
        self.newer = newer


class SlackRejected(BridgekeeperError):
    """No retry can help: `token` ("bot" or "app") was refused with `error`, or the bot token
    lacks the scopes `missing`. Rendered at the edge (messages/cli/slack_problem.txt.j2)."""

    def __init__(self, token: str, *, error: str = "", missing: Sequence[str] = ()) -> None:
        super().__init__(f"{token} token: {error or 'missing ' + ', '.join(missing)}")
        self.token = token
        self.error = error
        self.missing = tuple(missing)


class CommandRefused(BridgekeeperError):
    """Carries a message template name and its variables, rendered at the edge."""

    def __init__(self, template: str, **context: object) -> None:
        super().__init__(template)
        self.template = template
        self.context = context


class IncidentNotFound(CommandRefused):
    def __init__(self, number: int | None = None) -> None:
        super().__init__("refused/incident_not_found.md.j2", number=number)


class NotInBridgeChannel(CommandRefused):
    def __init__(self, subcommand: str) -> None:
        super().__init__("refused/not_in_bridge_channel.md.j2", subcommand=subcommand)


class PermissionDenied(CommandRefused):
    def __init__(self, action: str, allowed: list[str]) -> None:
        super().__init__("refused/permission_denied.md.j2", action=action, allowed=allowed)


class SlackError(BridgekeeperError):
    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error


class SlackRetryable(SlackError):
    def __init__(self, method: str, error: str, retry_after: float | None = None) -> None:
        super().__init__(method, error)
        self.retry_after = retry_after
