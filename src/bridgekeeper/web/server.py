"""The aiohttp application: Slack at /slack/events, health (web/health.py), alerts, reports,
and the web console (console/).

/slack/events is served only where it can be verified: always in HTTP mode, and in Socket Mode
only when a signing secret is configured too (else it answers 404, as if it did not exist).
Every request's body is bounded before it is read: by Content-Length at once, by its size while
it is read, and by time (a body that has not arrived `body_timeout_seconds` after its headers
closes the connection).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import ClientPayloadError, web
from aiohttp.typedefs import Handler
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bridgekeeper import metrics
from bridgekeeper.config import Settings
from bridgekeeper.console import add_console
from bridgekeeper.web.alert_api import AlertApiEndpoint
from bridgekeeper.web.alerts import AlertEndpoint, BodyTooLarge, read_limited
from bridgekeeper.web.health import add_health_routes
from bridgekeeper.web.heartbeats import HeartbeatEndpoint
from bridgekeeper.web.metrics import MetricsEndpoint, request_ids
from bridgekeeper.web.oncall import OnCallFeedEndpoint
from bridgekeeper.web.reports import ReportEndpoint
from bridgekeeper.web.sns import SnsEndpoint
from bridgekeeper.web.trackers import TrackerWebhook

if TYPE_CHECKING:
    from bridgekeeper.app import Bridgekeeper

APP_KEY: web.AppKey[Bridgekeeper] = web.AppKey("bridgekeeper")
SLACK_PATH = "/slack/events"
ALERTS_PREFIX = "/alerts/"


def build_web_app(bk: Bridgekeeper) -> web.Application:
    settings = bk.settings
    largest = max(settings.alerts.max_body_bytes, settings.http.slack_max_body_bytes)
    app = web.Application(client_max_size=largest, middlewares=[request_ids, bounded_bodies])
    app[APP_KEY] = bk
    if serves_slack_over_http(settings):
        app.router.add_post(SLACK_PATH, slack_events)
    add_health_routes(app, bk.health)
    alerts = AlertEndpoint(bk)
    app.router.add_post("/alerts/aws-sns", SnsEndpoint(bk).handle)  # before /alerts/{source}
    app.router.add_post("/alerts/{source}", alerts.handle)
    app.router.add_route("OPTIONS", "/alerts/{source}", alerts.handshake)
    AlertApiEndpoint(bk).add_routes(app)
    HeartbeatEndpoint(bk).add_routes(app)
    TrackerWebhook(bk).add_routes(app)
    app.router.add_get("/incidents/{number}/report", ReportEndpoint(bk).handle)
    app.router.add_get("/metrics", MetricsEndpoint(bk).handle)
    OnCallFeedEndpoint(bk).add_routes(app)
    add_console(app, bk)  # /console/ and /api/v1/ (bridgekeeper/console/)
    return app


def serves_slack_over_http(settings: Settings) -> bool:
    """Socket Mode without a signing secret has no way to verify an HTTP request."""
    return not settings.socket_mode or bool(settings.slack_signing_secret.strip())


def body_limit(settings: Settings, path: str) -> int:
    if path.startswith(ALERTS_PREFIX):
        return settings.alerts.max_body_bytes
    return settings.http.slack_max_body_bytes


@web.middleware
async def bounded_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 by Content-Length before anything is read; close the connection when the body has
    not arrived in time (a client trickling its body holds nothing for long)."""
    settings = request.app[APP_KEY].settings
    length = request.content_length
    if length is not None and length > body_limit(settings, request.path):
        raise web.HTTPRequestEntityTooLarge(
            max_size=body_limit(settings, request.path), actual_size=length, text="too large"
        )
    if request.content.is_eof():
        return await handler(request)
    too_slow = asyncio.get_running_loop().call_later(
        settings.http.body_timeout_seconds, _hang_up, request
    )
    request.content.on_eof(too_slow.cancel)
    try:
        return await handler(request)
    except (ConnectionError, ClientPayloadError):
        if too_slow.when() > asyncio.get_running_loop().time():
            raise
        raise web.HTTPRequestTimeout(text="too slow") from None  # not sent: the line is closed
    finally:
        too_slow.cancel()


def _hang_up(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


async def slack_events(request: web.Request) -> web.StreamResponse:
    bk = request.app[APP_KEY]
    try:
        body = await read_limited(request, bk.settings.http.slack_max_body_bytes)
    except BodyTooLarge:
        raise web.HTTPRequestEntityTooLarge(
            max_size=bk.settings.http.slack_max_body_bytes, actual_size=0, text="too large"
        ) from None
    bolt_request = AsyncBoltRequest(
        body=body.decode("utf-8", errors="replace"),
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]
    )
    with metrics.slash_ack(body.startswith(b"command=") or b"&command=" in body):
        bolt_response = await bk.bolt.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)
