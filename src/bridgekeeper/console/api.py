"""/api/v1/: the console's read-only JSON API, for whoever holds a console session (the same
signed cookie). What it answers is described in openapi.json beside this file (served at
/api/v1/openapi.json); a private incident is 404 to anyone outside it, as on the pages."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from aiohttp import web

from bridgekeeper.console.context import ConsoleContext
from bridgekeeper.console.dashboard import period
from bridgekeeper.console.query import read
from bridgekeeper.console.sessions import Session
from bridgekeeper.domain.text import whole_number
from bridgekeeper.services.dashboard import DEFAULT_PERIOD, Figures
from bridgekeeper.services.stats import DEFAULT_DAYS, Stats, Timing
from bridgekeeper.store.models import Alert

PREFIX = "/api/v1"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=HEADERS, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _error(status: int, error: str, **extra: Any) -> web.Response:
    return _json({"error": error, **extra}, status)


def _not_found() -> web.Response:
    return _error(404, "not_found")


def _number(request: web.Request) -> int:
    """The incident number in the path; a malformed one is as missing as an unknown one."""
    number = whole_number(request.match_info["number"])
    if number is None:
        raise web.HTTPNotFound(
            text=_dumps({"error": "not_found"}), content_type="application/json", headers=HEADERS
        )
    return number


class ApiViews:
    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx
        self.description = resources.files(__package__).joinpath("openapi.json").read_bytes()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/openapi.json", self.openapi)
        app.router.add_get(f"{PREFIX}/incidents", self.incidents)
        app.router.add_get(f"{PREFIX}/incidents/{{number}}", self.incident)
        app.router.add_get(f"{PREFIX}/incidents/{{number}}/timeline", self.timeline)
        app.router.add_get(f"{PREFIX}/incidents/{{number}}/alerts", self.alerts)
        app.router.add_get(f"{PREFIX}/stats", self.stats)
        app.router.add_get(f"{PREFIX}/dashboard", self.dashboard)

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(body=self.description, content_type="application/json", headers=HEADERS)

    async def _session(self, request: web.Request) -> Session:
        session = await self.ctx.session(request)
        if session is None:
            raise web.HTTPUnauthorized(
                text=_dumps({"error": "not_signed_in"}),
                content_type="application/json",
                headers=HEADERS,
            )
        return session

    async def incidents(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        asked = read(request.query)
        if asked.wrong:
            return _error(400, "bad_query", fields=list(asked.wrong))
        listing = await self.ctx.reader.listing(
            user=session.user, wanted=asked.wanted, page=asked.page, per_page=asked.per_page
        )
        return _json(
            {
                "incidents": listing.incidents,
                "total": listing.total,
                "page": listing.page,
                "per_page": listing.per_page,
                "pages": listing.pages,
            }
        )

    async def incident(self, request: web.Request) -> web.Response:
        session, number = await self._session(request), _number(request)
        found = await self.ctx.reader.summary(user=session.user, number=number)
        return _not_found() if found is None else _json(found)

    async def timeline(self, request: web.Request) -> web.Response:
        session, number = await self._session(request), _number(request)
        entries = await self.ctx.reader.timeline(user=session.user, number=number)
        if entries is None:
            return _not_found()
        return _json({"number": number, "entries": entries})

    async def alerts(self, request: web.Request) -> web.Response:
        session, number = await self._session(request), _number(request)
        found = await self.ctx.reader.alerts(user=session.user, number=number)
        if found is None:
            return _not_found()
        return _json({"number": number, "alerts": [alert_json(a) for a in found]})

    async def stats(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        days = period(request.query, DEFAULT_DAYS)
        if days is None:
            return _error(400, "bad_query", fields=["days"])
        found = await self.ctx.reader.stats(user=session.user, days=days)
        return _json(stats_json(found))

    async def dashboard(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        days = period(request.query, DEFAULT_PERIOD)
        if days is None:
            return _error(400, "bad_query", fields=["days"])
        return _json(dashboard_json(await self.ctx.reader.dashboard(user=session.user, days=days)))


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "source": alert.source,
        "title": alert.title,
        "severity": alert.severity,
        "status": alert.status,
        "resource": alert.resource,
        "link": alert.link,
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
        "resolved_at": alert.resolved_at,
        "occurrences": alert.occurrences,
        "triage": alert.triage,
    }


def _timing(timing: Timing) -> dict[str, Any]:
    return {"mean_seconds": timing.mean, "median_seconds": timing.median, "count": timing.count}


def stats_json(stats: Stats) -> dict[str, Any]:
    return {
        "days": stats.days,
        "since": stats.since,
        "until": stats.until,
        "incidents": stats.incidents,
        "open": stats.open,
        "by_severity": stats.by_severity,
        "by_disposition": stats.by_disposition,
        "time_to_acknowledge": _timing(stats.acknowledge),
        "time_to_declare": _timing(stats.declare),
        "time_to_stabilize": _timing(stats.stabilize),
        "time_to_close": _timing(stats.close),
        "sources": [
            {
                "source": s.source,
                "alerts": s.alerts,
                "triaged": s.triaged,
                "false_positives": s.false_positives,
                "false_positive_rate": s.false_positive_rate,
            }
            for s in stats.sources
        ],
    }


def dashboard_json(figures: Figures) -> dict[str, Any]:
    return {
        "days": figures.days,
        "since": figures.since,
        "until": figures.until,
        "charts": {
            name: {
                "kind": t.kind,
                "unit": t.unit,
                "columns": list(t.columns),
                "rows": [{"label": label, "values": values} for label, values in t.rows],
            }
            for name, t in figures.tables.items()
        },
    }
