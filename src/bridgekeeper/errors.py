"""The exceptions bridgekeeper raises inside; the edges translate them once.

BridgekeeperError
├── ConfigError            invalid settings: start-up stops with the key and the problem
├── SchemaOutOfDate        the database needs `bridgekeeper db upgrade`
├── CommandRefused         a valid command that cannot be applied (the user is told why)
│   ├── IncidentNotFound
│   ├── NotInBridgeChannel
│   └── PermissionDenied
└── SlackError             a Web API call failed for good (after retries)
    └── SlackRetryable     a call that may succeed later (429, 5xx, timeout)
"""

from __future__ import annotations


class BridgekeeperError(Exception):
    pass


class ConfigError(BridgekeeperError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"configuration error: {key}: {problem}")
        self.key = key
        self.problem = problem


class SchemaOutOfDate(BridgekeeperError):
    pass


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
