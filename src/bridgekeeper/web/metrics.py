"""`GET /metrics` in Prometheus's text format, and a request id for every request's log lines.

With a metrics token configured (BRIDGEKEEPER_METRICS_TOKEN or `[metrics] token`), /metrics
answers 401 without `Authorization: Bearer <token>`; without one, it is open to whoever reaches
the port. The outbox gauges are read from the database at each scrape (one grouped query).
"""

from __future__ import annotations

import logging
import random
import re

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bridgekeeper import logs, metrics
from bridgekeeper.clock import Clock
from bridgekeeper.domain.text import same_secret
from bridgekeeper.store.db import Database

log = logging.getLogger(__name__)
REQUEST_ID = "X-Request-Id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class MetricsEndpoint:
    def __init__(self, *, token: str | None, db: Database, clock: Clock) -> None:
        self.token = token
        self.db = db
        self.clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        if self.token and not same_secret(_bearer(request), self.token):
            raise web.HTTPUnauthorized(
                text="missing or invalid bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="bridgekeeper metrics"'},
            )
        try:
            await metrics.refresh_gauges(self.db, self.clock.now())
        except Exception as exc:  # the rest of the metrics still answer
            log.warning("outbox and report gauges not refreshed: %s", type(exc).__name__)
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


def _bearer(request: web.Request) -> str:
    """The Authorization header's bearer token (no ?token=: URLs end up in logs)."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Each request's log lines carry its id: the caller's X-Request-Id when it is a plain
    token of up to 64 characters, else a new one; the answer carries it back. A new id only
    tells one request's lines from another's (it guards nothing): 64 random bits, drawn without
    a system call, as every request pays for it."""
    given = request.headers.get(REQUEST_ID, "")
    request_id = given if _SAFE_ID.fullmatch(given) else f"{random.getrandbits(64):016x}"
    try:
        with logs.bound(request_id=request_id):
            response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID] = request_id
        raise
    response.headers[REQUEST_ID] = request_id
    return response
