"""An incident's report in the console: GET /console/incidents/{number}/report, the latest
version or `?version=N`, as the report's own HTML page (`?format=html`, the default), or as a
Markdown or JSON download (`?format=md|json`). The same access as the incident's page: a report
of an incident the visitor may not see is the same 404 page as one that does not exist."""

from __future__ import annotations

from aiohttp import web

from bridgekeeper.console.context import ConsoleContext
from bridgekeeper.console.views import signed_in
from bridgekeeper.domain.text import whole_number
from bridgekeeper.services.report_html import script_policy
from bridgekeeper.services.reports import ReportService
from bridgekeeper.web.reports import send_report

FORMATS = ("html", "md", "json")
SUFFIXES = {"html": "html", "md": "md", "json": "json"}


class ReportViews:
    def __init__(self, ctx: ConsoleContext, reports: ReportService) -> None:
        self.ctx = ctx
        self.reports = reports
        self.scripts = script_policy(ctx.renderer)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/incidents/{number}/report", self.report)

    async def report(self, request: web.Request) -> web.StreamResponse:
        session = await signed_in(self.ctx, request)
        if isinstance(session, web.Response):
            return session
        number = whole_number(request.match_info["number"])
        fmt = request.query.get("format", "html")
        version_text = request.query.get("version")
        version = whole_number(version_text) if version_text is not None else None
        wrong = fmt not in FORMATS or (version_text is not None and version is None)
        stored = None
        if (
            number is not None
            and not wrong
            and await self.ctx.reader.may_read(user=session.user, number=number)
        ):
            stored = await self.reports.stored(number, fmt, version, whole=False)
        if stored is None:
            return self.ctx.not_found(request, session)
        name = f"incident-{stored.number}-report-v{stored.version}.{SUFFIXES[fmt]}"
        disposition = "inline" if fmt == "html" else "attachment"
        headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
        return await send_report(request, self.reports, stored, self.scripts, headers)
