"""The dashboard (/console/dashboard) and its numbers as CSV (/console/dashboard.csv): for the
incidents the signed-in person may see, over the last 30, 90 or 365 days. Each chart is an SVG
drawn here on the server (domain/charts.py, messages/console/chart.svg.j2) beside a table of
its numbers, which the CSV repeats."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from aiohttp import web
from markupsafe import Markup

from bridgekeeper.console.context import ConsoleContext
from bridgekeeper.console.views import signed_in
from bridgekeeper.domain.charts import Chart, bar_chart, line_chart
from bridgekeeper.domain.text import is_digits
from bridgekeeper.services.dashboard import CHARTS, DEFAULT_PERIOD, PERIODS, Figures, Table

DAYS_MAX = 3660
SEPARATOR = "\x1e"
RISKY = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a formula into these


def period(query: Mapping[str, str], default: int | None = DEFAULT_PERIOD) -> int | None:
    """The `days` asked for (1 to DAYS_MAX), the default when not given, None when wrong."""
    text = query.get("days", "").strip()
    if not text:
        return default
    return int(text) if is_digits(text) and len(text) < 6 and 1 <= int(text) <= DAYS_MAX else None


def chart_of(table: Table) -> Chart:
    columns = table.plotted or table.columns
    categories = [label for label, _ in table.rows]
    picked = [table.columns.index(c) for c in columns]
    if table.kind == "line":
        return line_chart(
            categories,
            {c: [v[i] for _, v in table.rows] for c, i in zip(columns, picked, strict=True)},
        )
    return bar_chart(
        categories, {c: [v[i] for _, v in table.rows] for c, i in zip(columns, picked, strict=True)}
    )


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(RISKY) else text


class DashboardViews:
    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/dashboard", self.page)
        app.router.add_get("/console/dashboard.csv", self.csv)

    async def page(self, request: web.Request) -> web.Response:
        session = await signed_in(self.ctx, request)
        if isinstance(session, web.Response):
            return session
        days = period(request.query)
        wrong = days is None
        figures = await self.ctx.reader.dashboard(user=session.user, days=days or DEFAULT_PERIOD)
        return self.ctx.page(
            request,
            "dashboard.html.j2",
            session=session,
            figures=figures,
            wrong=wrong,
            periods=PERIODS,
            charts=self._charts(figures),
        )

    def _charts(self, figures: Figures) -> dict[str, Markup]:
        return {
            name: Markup(
                self.ctx.renderer.html(
                    "console/chart.svg.j2", chart=name, table=table, c=chart_of(table)
                ).strip()
            )
            for name, table in figures.tables.items()
        }

    async def csv(self, request: web.Request) -> web.Response:
        session = await signed_in(self.ctx, request)
        if isinstance(session, web.Response):
            return session
        days, name = period(request.query), request.query.get("chart", "")
        if days is None or name not in CHARTS:
            return self.ctx.page(request, "dashboard_wrong.html.j2", status=400, session=session)
        figures = await self.ctx.reader.dashboard(user=session.user, days=days)
        body = self.table_csv(figures.tables[name])
        filename = f"bridgekeeper-{name}-{days}d.csv"
        return web.Response(
            text=body,
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def table_csv(self, table: Table) -> str:
        heads = (
            self.ctx.renderer.text("console/dashboard_heads.txt.j2", table=table, sep=SEPARATOR)
            .strip()
            .split(SEPARATOR)
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(safe_cell(h) for h in heads)
        for label, values in table.rows:
            writer.writerow([safe_cell(label), *(safe_cell(v) for v in values)])
        return out.getvalue()
