"""The Opsgenie-compatible Alert API over HTTP: `POST /v2/alerts` (create) and
`POST /v2/alerts/{identifier}/close|acknowledge|notes` (`?identifierType=id|alias`), with
`Authorization: GenieKey <key>` (the alert token, or the `opsgenie` source token). Answers as
Opsgenie does: 202 `{"result": "Request will be processed", "took", "requestId"}`; errors as
`{"message", "took", "requestId"}`. Unlike Opsgenie, the work is done before the answer, so an
alert that does not exist is a 404 at once, not a failed request to look up later."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridgekeeper import metrics
from bridgekeeper.config import AlertSettings
from bridgekeeper.domain.alerts import opsgenie
from bridgekeeper.domain.alerts.model import PayloadError
from bridgekeeper.services.alert_api import AlertApi
from bridgekeeper.web.alerts import BodyTooLarge, authorized, read_limited

Act = Callable[[opsgenie.Action], Awaitable[bool]]


class AlertApiEndpoint:
    def __init__(self, *, settings: AlertSettings, api: AlertApi) -> None:
        self.settings = settings
        self.api = api

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/alerts", self.create)
        app.router.add_post("/v2/alerts/{identifier}/close", self.action(self.api.close))
        app.router.add_post(
            "/v2/alerts/{identifier}/acknowledge", self.action(self.api.acknowledge)
        )
        app.router.add_post("/v2/alerts/{identifier}/notes", self.action(self.api.add_note))

    async def create(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        payload = await self._payload(request)
        if isinstance(payload, web.Response):
            return payload
        try:
            outcome = await self.api.create(payload)
        except PayloadError as exc:
            return answer(422, started, message=str(exc))
        metrics.alerts_received(opsgenie.SOURCE, [outcome])
        return answer(202, started, result="Request will be processed")

    def action(self, act: Act) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            started = time.perf_counter()
            payload = await self._payload(request, body_optional=True)
            if isinstance(payload, web.Response):
                return payload
            identifier = request.match_info["identifier"]
            try:
                kind = request.query.get("identifierType", "id")
                found = await act(opsgenie.action(identifier, kind, payload))
            except PayloadError as exc:
                return answer(422, started, message=str(exc))
            if not found:
                return answer(
                    404, started, message=f"Alert with {kind} [{identifier[:200]}] does not exist"
                )
            return answer(202, started, result="Request will be processed")

        return handle

    async def _payload(self, request: web.Request, body_optional: bool = False) -> Any:
        """The JSON body, or the error answer."""
        started = time.perf_counter()
        try:
            body = await read_limited(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            return answer(413, started, message="Request body is too large")
        if not authorized(self.settings, opsgenie.SOURCE, request, body):
            metrics.alert_refused(opsgenie.SOURCE)
            return answer(401, started, message="Could not authenticate: check the GenieKey")
        if body_optional and not body.strip():
            return {}
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            return answer(400, started, message="The body is not valid JSON")


def answer(status: int, started: float, **fields: str) -> web.Response:
    took = round(time.perf_counter() - started, 3)
    return web.json_response(
        {**fields, "took": took, "requestId": str(uuid.uuid4())}, status=status
    )
