"""What `serve` and `worker` do between starting and reporting ready.

Both answer /healthz at once and /readyz 503 until Slack's self-check (slack/auth.py) has
passed; only then do they start the worker (and Socket Mode). A token Slack refuses, or a
missing scope, stops the process with one line and exit status 1; Slack unreachable is retried
with backoff until it answers or the process is told to stop.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from typing import TYPE_CHECKING

from bridgekeeper.errors import SlackRejected
from bridgekeeper.rendering import Renderer
from bridgekeeper.slack.auth import SlackReady, check_slack, required_scopes, wait_for_slack

if TYPE_CHECKING:
    from bridgekeeper.app import Bridgekeeper


def stop_on_signal() -> asyncio.Event:
    """Set on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def slack_ready(
    bk: Bridgekeeper, stop: asyncio.Event, *, socket_mode: bool = False
) -> SlackReady | None:
    """Wait for the self-check to pass (None: stopped first), keeping readiness in step.
    Raises SlackRejected when no retry can help."""
    app_token = bk.settings.slack_app_token if socket_mode else None
    required = required_scopes(by_email=bool(bk.settings.oncall.sources))
    ready = await wait_for_slack(
        lambda: check_slack(bk.gateway, required, app_token),
        stop,
        on_wait=bk.health.slack_waiting,
    )
    if ready is not None:
        bk.health.slack_ok()
    return ready


def say_rejected(exc: SlackRejected) -> int:
    """The one line on stderr; the exit status."""
    line = Renderer().text(
        "cli/slack_rejected.txt.j2", token=exc.token, error=exc.error, missing=exc.missing
    )
    print(" ".join(part.strip() for part in line.splitlines() if part.strip()), file=sys.stderr)
    return 1


def freeze_startup_heap() -> None:
    """Leave what start-up built (modules, the ORM's mappings, templates, the app) out of the
    garbage collector's full passes. Each full pass walked all of it: 110-125 ms with the event
    loop stopped, twice in 2,000 commands, which was the slowest 1% of acks."""
    gc.collect()
    gc.freeze()
