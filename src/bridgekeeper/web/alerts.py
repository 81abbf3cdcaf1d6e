"""`POST /alerts/{source}`: verify, read within a size limit, parse, store, answer 202.

Answers: 202 with what became of each alert, only after the commit; 401 bad or missing
credentials; 400 not JSON; 422 JSON of the wrong shape; 404 unknown source; 413 too large.
A body stored whose answer never reached its sender is answered as a redelivery if it comes
again (web/lost_answers.py).

Credentials: a bearer token (the `Authorization` header or `?token=`), per source or shared;
PagerDuty's `X-PagerDuty-Signature` and Grafana's `X-Grafana-Alerting-Signature` HMACs when
their secrets are configured (then the signature is required).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bridgekeeper import metrics
from bridgekeeper.config import AlertSettings
from bridgekeeper.domain.alerts.model import Alert, PayloadError
from bridgekeeper.domain.alerts.parse import UnknownSource, parse
from bridgekeeper.domain.alerts.sniff import advice
from bridgekeeper.domain.text import is_digits, same_secret
from bridgekeeper.services.alert_rows import Outcome
from bridgekeeper.web.cloudevents import BATCH, STRUCTURED, NotCloudEvents, is_binary, read_events
from bridgekeeper.web.lost_answers import LostAnswers
from bridgekeeper.web.parsed_bodies import ParsedBodies

if TYPE_CHECKING:
    from bridgekeeper.clock import Clock
    from bridgekeeper.services.intake import IntakeService

log = logging.getLogger(__name__)
GRAFANA_SIGNATURE = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMPS = ("X-Grafana-Alerting-Signature-Timestamp", "X-Grafana-Alerting-Timestamp")
GRAFANA_MAX_SKEW = 300  # seconds
PAGERDUTY_SIGNATURE = "X-PagerDuty-Signature"
IGNORED = "nothing in this body is an alert (a note, a recommendation, a score, an empty group)"
ORIGIN = re.compile(r"[A-Za-z0-9.-]{1,253}")  # a host name, e.g. eventgrid.azure.net


class BodyTooLarge(Exception):
    pass


class AlertEndpoint:
    def __init__(self, *, settings: AlertSettings, clock: Clock, intake: IntakeService) -> None:
        self.settings = settings
        self.clock = clock
        self.intake = intake
        self.lost = LostAnswers(self.settings.retry_seconds)
        self.parsed = ParsedBodies()
        self._warned = False

    async def handle(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        response = await self._handle(source, request)
        if response.status >= 400:
            metrics.alert_refused(source)
        return response

    async def handshake(self, request: web.Request) -> web.Response:
        """The CloudEvents webhook validation (Azure Event Grid sends it before delivering):
        OPTIONS with WebHook-Request-Origin, answered with the origin allowed, if the request
        carries the alert token."""
        origin = request.headers.get("WebHook-Request-Origin", "").strip()
        if not ORIGIN.fullmatch(origin):
            return error(400, "WebHook-Request-Origin is missing or not a host name")
        source = request.match_info["source"]
        if not self._configured() or not authorized(self.settings, source, request, b""):
            return unauthorized()
        allowed = {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"}
        return web.Response(status=200, headers={**allowed, "Allow": "POST, OPTIONS"})

    async def _handle(self, source: str, request: web.Request) -> web.Response:
        try:
            body = await read_limited(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            return error(413, f"the body is larger than {self.settings.max_body_bytes} bytes")
        if not self._configured():
            return unauthorized()
        if not authorized(self.settings, source, request, body):
            return unauthorized()
        key = LostAnswers.key(source, body)
        retried = self.lost.take(key)
        if retried is not None:
            log.info("a %s body whose answer was lost came again: a redelivery", source)
            return web.json_response(answer(retried), status=202)
        return await self._accept(source, request, body, key)

    async def _accept(
        self, source: str, request: web.Request, body: bytes, key: str
    ) -> web.Response:
        payload: Any = None

        def read(received_at: datetime) -> list[Alert]:
            nonlocal payload
            payload = json.loads(body) if payload is None else payload
            return self._parse(source, payload, received_at)

        try:
            if carries_cloudevents(source, request.headers):  # the headers are part of it
                source, payload = "cloudevents", read_events(request.headers, body)
                alerts = read(self.clock.now())
            else:
                alerts = self.parsed.alerts(key, len(body), self.clock.now(), read)
        except PayloadError as exc:
            return error(422, with_advice(str(exc), payload, source))
        except (NotCloudEvents, ValueError, RecursionError) as exc:
            return error(400, f"the body is not valid JSON: {str(exc)[:200]}")
        except UnknownSource as exc:
            return error(404, with_advice(str(exc), payload, source))
        if not alerts:  # a note, a recommendation, an empty group: accepted, nothing to store
            return web.json_response({"alerts": [], "ignored": IGNORED}, status=202)
        outcomes = await self.intake.receive_and_tell(alerts)
        metrics.alerts_received(source, outcomes)
        if answer_lost(request) and not any(alert.delivery_id for alert in alerts):
            self.lost.remember(key, outcomes)  # the sender will send it again
            log.info("the answer to a %s body was lost: its retry will be a redelivery", source)
        return web.json_response(answer(outcomes), status=202)

    def _parse(self, source: str, payload: object, received_at: datetime) -> list[Alert]:
        return parse(
            source,
            payload,
            received_at=received_at,
            custom=self.settings.custom_sources,
            event_types=self.settings.cloudevent_types,
        )

    def _configured(self) -> bool:
        s = self.settings
        configured = bool(s.token or s.source_tokens or s.pagerduty_secrets or s.grafana_secret)
        if not configured and not self._warned:
            self._warned = True
            log.warning(
                "alert webhooks are refused: no credentials configured; set "
                "BRIDGEKEEPER_ALERT_TOKEN (or [alerts] token / tokens in the config file)"
            )
        return configured


def answer_lost(request: web.Request) -> bool:
    """The sender hung up (or timed out) before its answer: it will retry."""
    transport = request.transport
    return transport is None or transport.is_closing()


def carries_cloudevents(source: str, headers: Mapping[str, str]) -> bool:
    """Everything on /alerts/cloudevents; on /alerts/generic, the CloudEvents content modes
    (a structured event sent as plain JSON is recognised by domain/alerts/generic.py)."""
    if source == "cloudevents":
        return True
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return source == "generic" and (is_binary(headers) or content_type in (BATCH, STRUCTURED))


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refusing by Content-Length first and never reading past the limit."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


# -- credentials -----------------------------------------------------------------------------
def authorized(settings: AlertSettings, source: str, request: web.Request, body: bytes) -> bool:
    if source == "pagerduty" and settings.pagerduty_secrets:
        return pagerduty_signed(settings.pagerduty_secrets, request, body)
    if source == "grafana" and settings.grafana_secret:
        return grafana_signed(settings.grafana_secret, request, body)
    expected = settings.source_tokens.get(source) or settings.token
    custom = settings.custom_sources.get(source)
    given = tokens_given(request, custom.auth if custom else "token")
    return bool(expected) and any(same_secret(token, expected or "") for token in given)


def tokens_given(request: web.Request, mode: str = "token") -> list[str]:
    """`?token=`, a bearer token, or Opsgenie's `GenieKey <key>` (and its `?apiKey=`); a custom
    source's `auth` may take the header only, or HTTP Basic's password instead."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if mode == "basic":
        return [basic_password(credentials)] if scheme.lower() == "basic" else []
    given = (
        []
        if mode == "header"
        else [request.query.get("token", ""), request.query.get("apiKey", "")]
    )
    if scheme.lower() in ("bearer", "geniekey"):
        given.append(credentials.strip())
    return [token for token in given if token]


def basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        return ""
    return decoded.partition(":")[2]


def pagerduty_signed(secrets: tuple[str, ...], request: web.Request, body: bytes) -> bool:
    """`v1=<hex>[,v1=<hex>...]`: several during a secret rotation; any one may match."""
    header = request.headers.get(PAGERDUTY_SIGNATURE, "")
    offered = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    expected = [_hmac_hex(secret, body) for secret in secrets]
    return any(same_secret(sig, want) for sig in offered for want in expected)


def grafana_signed(secret: str, request: web.Request, body: bytes) -> bool:
    """Hex HMAC-SHA256 of the body, or of `timestamp:body` when a timestamp header is sent."""
    signature = request.headers.get(GRAFANA_SIGNATURE, "").strip()
    stamp = next((request.headers[h] for h in GRAFANA_TIMESTAMPS if h in request.headers), "")
    if not stamp:
        return same_secret(signature, _hmac_hex(secret, body))
    if not is_digits(stamp) or abs(time.time() - int(stamp)) > GRAFANA_MAX_SKEW:
        return False
    return same_secret(signature, _hmac_hex(secret, stamp.encode() + b":" + body))


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# -- answers ---------------------------------------------------------------------------------
def answer(outcomes: list[Outcome]) -> dict[str, Any]:
    """`alerts` always lists every alert; a single alert is also given at the top level."""
    listed = [
        {"alert_id": o.alert_id, "result": o.result.value, "incident": o.incident} for o in outcomes
    ]
    return {**(listed[0] if len(listed) == 1 else {}), "alerts": listed}


def with_advice(problem: str, payload: object, source: str) -> str:
    """The problem, and where a body of this shape should go if that is known."""
    hint = advice(payload, f"/alerts/{source}")
    return f"{problem}; {hint}" if hint else problem


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def unauthorized() -> web.Response:
    response = error(401, "missing or invalid credentials for this alert source")
    response.headers["WWW-Authenticate"] = 'Bearer realm="bridgekeeper alerts"'
    return response
