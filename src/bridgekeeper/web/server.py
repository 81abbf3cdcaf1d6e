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
from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import ClientPayloadError, web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_protocol import RequestPayloadError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bridgekeeper import metrics
from bridgekeeper.config import Settings
from bridgekeeper.console import add_console
from bridgekeeper.pending_answers import PendingAnswers
from bridgekeeper.web.alert_api import AlertApiEndpoint
from bridgekeeper.web.alerts import AlertEndpoint, BodyTooLarge, read_limited
from bridgekeeper.web.health import add_health_routes
from bridgekeeper.web.heartbeats import HeartbeatEndpoint
from bridgekeeper.web.metrics import MetricsEndpoint, request_ids
from bridgekeeper.web.oncall import OnCallFeedEndpoint
from bridgekeeper.web.reports import ReportEndpoint
from bridgekeeper.web.services import WebServices
from bridgekeeper.web.sns import SnsEndpoint
from bridgekeeper.web.trackers import MAX_BODY as TRACKER_MAX_BODY
from bridgekeeper.web.trackers import TrackerWebhook

SLACK_PATH = "/slack/events"
ALERT_ROUTES = ("/alerts/", "/v2/alerts", "/heartbeats/")
TRACKER_ROUTES = "/trackers/"


def build_web_app(services: WebServices) -> web.Application:
    settings = services.settings
    largest = max(settings.alerts.max_body_bytes, settings.http.slack_max_body_bytes)
    middlewares = [request_ids, bounded_bodies(settings)]
    app = web.Application(client_max_size=largest, middlewares=middlewares)
    if serves_slack_over_http(settings):
        slack = SlackEvents(
            bolt=services.bolt,
            answers=services.answers,
            max_body=settings.http.slack_max_body_bytes,
            signing_secret=settings.slack_signing_secret,
        )
        app.router.add_post(SLACK_PATH, slack.handle)
    add_health_routes(app, services.health)
    add_alert_routes(app, services)
    add_other_routes(app, services)
    add_console(app, services)  # /console/ and /api/v1/ (bridgekeeper/console/)
    return app


def add_alert_routes(app: web.Application, s: WebServices) -> None:
    """Alerts by webhook (SNS's before /alerts/{source}), the Alert API and heartbeats."""
    alerts = AlertEndpoint(settings=s.settings.alerts, clock=s.clock, intake=s.intake)
    sns = SnsEndpoint(settings=s.settings.alerts, clock=s.clock, intake=s.intake)
    app.router.add_post("/alerts/aws-sns", sns.handle)
    app.router.add_post("/alerts/{source}", alerts.handle)
    app.router.add_route("OPTIONS", "/alerts/{source}", alerts.handshake)
    AlertApiEndpoint(settings=s.settings.alerts, api=s.alert_api).add_routes(app)
    HeartbeatEndpoint(settings=s.settings.alerts, heartbeats=s.heartbeats).add_routes(app)


def add_other_routes(app: web.Application, s: WebServices) -> None:
    """Trackers' webhooks, stored reports, metrics and on-call calendars."""
    TrackerWebhook(settings=s.settings.trackers, followup_sync=s.followup_sync).add_routes(app)
    reports = ReportEndpoint(
        token=s.settings.reports.access_token, reports=s.reports, renderer=s.renderer
    )
    app.router.add_get("/incidents/{number}/report", reports.handle)
    metrics_page = MetricsEndpoint(token=s.settings.metrics_token, db=s.db, clock=s.clock)
    app.router.add_get("/metrics", metrics_page.handle)
    OnCallFeedEndpoint(
        oncall=s.oncall, user_name=s.gateway.user_name, renderer=s.renderer, clock=s.clock
    ).add_routes(app)


def serves_slack_over_http(settings: Settings) -> bool:
    """Socket Mode without a signing secret has no way to verify an HTTP request."""
    return not settings.socket_mode or bool(settings.slack_signing_secret.strip())


def body_limit(settings: Settings, path: str) -> int:
    """What a request's body may weigh: an alert's ([alerts], also for the Alert API and
    heartbeats), a tracker's webhook's, else Slack's ([http])."""
    if path.startswith(ALERT_ROUTES):
        return settings.alerts.max_body_bytes
    if path.startswith(TRACKER_ROUTES):
        return TRACKER_MAX_BODY
    return settings.http.slack_max_body_bytes


def bounded_bodies(settings: Settings) -> Middleware:
    """413 by Content-Length before anything is read; close the connection when the body has
    not arrived in time (a client trickling its body holds nothing for long)."""

    @web.middleware
    async def bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
        limit = body_limit(settings, request.path)
        length = request.content_length
        if length is not None and length > limit:
            raise web.HTTPRequestEntityTooLarge(
                max_size=limit, actual_size=length, text="too large"
            )
        try:
            if request.content.is_eof():
                return await handler(request)
            return await _in_time(request, handler, settings.http.body_timeout_seconds)
        except RequestPayloadError:  # gzip that is not, say
            raise web.HTTPBadRequest(
                text="the body could not be read as its Content-Encoding says"
            ) from None

    return bounded


async def _in_time(request: web.Request, handler: Handler, seconds: float) -> web.StreamResponse:
    too_slow = asyncio.get_running_loop().call_later(seconds, _hang_up, request)
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


class SlackEvents:
    """/slack/events: a signed request from Slack, handed to Bolt."""

    def __init__(
        self, *, bolt: AsyncApp, answers: PendingAnswers, max_body: int, signing_secret: str
    ) -> None:
        self.bolt = bolt
        self.answers = answers
        self.max_body = max_body
        self.verifier = SignatureVerifier(signing_secret)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        with self.answers.answering():
            return await self._answer(request)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await read_limited(request, self.max_body)
        except BodyTooLarge:
            raise web.HTTPRequestEntityTooLarge(
                max_size=self.max_body, actual_size=0, text="too large"
            ) from None
        if not (self._signed(body, request.headers) or _ssl_check(body)):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = slack_request(
                body.decode("utf-8", errors="replace"), request.query_string, request.headers
            )
        except (ValueError, TypeError, AttributeError, RecursionError):  # Bolt reads it first
            return web.json_response({"error": "the body is not a Slack request"}, status=400)
        with metrics.slash_ack(body.startswith(b"command=") or b"&command=" in body):
            bolt_response = await self.bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's signature, checked before Bolt reads the body (Bolt checks it too, after)."""
        try:
            return self.verifier.is_valid(
                body,
                headers.get("X-Slack-Request-Timestamp", ""),
                headers.get("X-Slack-Signature", ""),
            )
        except (ValueError, OverflowError):  # a time that is not a whole number of seconds
            return False


def _ssl_check(body: bytes) -> bool:
    """Slack's SSL check, which Slack does not sign: Bolt answers it, and nothing more."""
    form = dict(parse_qsl(body.decode("utf-8", errors="replace")))
    return form.get("ssl_check") == "1" and not {"command", "payload"} & form.keys()


def slack_request(body: str, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """Slack's request as Bolt takes it. Bolt reads a form body that has the word "payload"
    anywhere in it as an interaction's, and, finding no `payload` field, as empty: a slash
    command saying "payload" (`/incident declare Malicious payload on db-01`) went unanswered.
    Such a body is read as the form it is."""
    bolt_request = AsyncBoltRequest(body=body, query=query, headers=dict(headers))
    if bolt_request.body or body.startswith("{"):
        return bolt_request
    form = dict(parse_qsl(body, keep_blank_values=True))
    if form and "payload" not in form:
        bolt_request.body = form
        bolt_request.context = build_async_context(AsyncBoltContext(), form)
    return bolt_request
