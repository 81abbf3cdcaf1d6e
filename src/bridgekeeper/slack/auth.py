"""The start-up self-check against Slack, before a process reports ready.

The bot token must be accepted by auth.test and carry every bot scope the app manifests ask for
(Slack names the granted ones in auth.test's x-oauth-scopes header); in Socket Mode the app-level
token must be accepted by apps.connections.open. A refused token or a missing scope is
`SlackRejected`: no retry helps, so start-up stops with one line. Slack unreachable or failing
(refused connections, 5xx, timeouts) is `SlackRetryable`: `wait_for_slack` tries again with
backoff meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridgekeeper.clock import wait_at_most
from bridgekeeper.errors import SlackError, SlackRejected, SlackRetryable
from bridgekeeper.slack.gateway import SlackGateway

log = logging.getLogger(__name__)
# The bot scopes of slack-app-manifest-http.yml and slack-app-manifest-socket-mode.yml
# (tests/deploy/test_packaging.py checks that both ask for exactly these). An app installed before a
# scope was added lacks it: start-up requires the e-mail scope only where it is used.
MANIFEST_SCOPES = frozenset(
    {
        "channels:history",
        "channels:manage",
        "channels:read",
        "chat:write",
        "chat:write.public",
        "commands",
        "files:read",
        "files:write",
        "groups:history",
        "groups:read",
        "groups:write",
        "pins:write",
        "reactions:read",
        "usergroups:read",
        "users:read",
        "users:read.email",
    }
)
EMAIL_SCOPE = "users:read.email"  # people matched by e-mail to on-call tools' schedules
FIRST_WAIT = 0.5  # seconds before the first retry while Slack is unreachable
MAX_WAIT = 30.0


@dataclass(frozen=True)
class SlackReady:
    """What the self-check learnt: the Socket Mode URL to connect to (its ticket is fresh)."""

    socket_url: str | None = None


def required_scopes(*, by_email: bool) -> frozenset[str]:
    """The scopes start-up requires: the manifest's, the e-mail one only when `by_email` (a
    team's on-call is read from PagerDuty or GoAlert)."""
    return MANIFEST_SCOPES if by_email else MANIFEST_SCOPES - {EMAIL_SCOPE}


async def check_bot_token(gateway: SlackGateway, required: frozenset[str]) -> None:
    """auth.test and the granted scopes; SlackRejected, SlackRetryable, or nothing wrong."""
    try:
        granted = await gateway.granted_scopes()
    except SlackRetryable:
        raise
    except SlackError as exc:
        raise SlackRejected("bot", error=exc.error) from None
    if granted is None:
        log.warning("Slack named no scopes in auth.test (no x-oauth-scopes header); not checked")
        return
    missing = sorted(required - granted)
    if missing:
        raise SlackRejected("bot", missing=missing)


async def open_socket(gateway: SlackGateway, app_token: str) -> str:
    """apps.connections.open with the app-level token: the WebSocket URL to connect to."""
    try:
        data = await gateway.call("apps.connections.open", app_token=app_token)
    except SlackRetryable:
        raise
    except SlackError as exc:
        raise SlackRejected("app", error=exc.error) from None
    return str(data["url"])


async def check_app_token(gateway: SlackGateway, app_token: str) -> SlackReady:
    """The app-level token's check: a fresh Socket Mode URL."""
    return SlackReady(socket_url=await open_socket(gateway, app_token))


async def check_slack(
    gateway: SlackGateway, required: frozenset[str], app_token: str | None = None
) -> SlackReady:
    """The whole self-check, once."""
    await check_bot_token(gateway, required)
    if app_token:
        return await check_app_token(gateway, app_token)
    return SlackReady()


async def wait_for_slack(
    check: Callable[[], Awaitable[SlackReady]],
    stop: asyncio.Event,
    *,
    on_wait: Callable[[str], None] = lambda problem: None,
) -> SlackReady | None:
    """Run `check` until it passes (None if `stop` is set first); while Slack is unreachable,
    wait 0.5, 1, 2 … seconds (at most 30) between tries. SlackRejected goes to the caller."""
    wait = FIRST_WAIT
    while not stop.is_set():
        try:
            return await check()
        except SlackRetryable as exc:
            problem = f"Slack cannot be reached ({exc.error})"
            on_wait(problem)
            log.warning("%s; trying again in %.1fs", problem, wait)
        await wait_at_most(stop, wait)
        wait = min(wait * 2, MAX_WAIT)
    return None
