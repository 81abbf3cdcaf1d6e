"""add_console(): the console's routes on bridgekeeper's web app, when it is on.

It is on unless `[console] enabled = false`, and only with its three secrets set
(BRIDGEKEEPER_SESSION_SECRET, SLACK_CLIENT_ID, SLACK_CLIENT_SECRET); without them it is off and
start-up says so in one log line. Off, /console/ and /api/v1/ are 404, as if they did not exist.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bridgekeeper.console.api import ApiViews
from bridgekeeper.console.auth import AuthViews
from bridgekeeper.console.context import ConsoleContext
from bridgekeeper.console.dashboard import DashboardViews
from bridgekeeper.console.reports import ReportViews
from bridgekeeper.console.views import PageViews
from bridgekeeper.services.incident_views import IncidentReader

if TYPE_CHECKING:
    from bridgekeeper.web.services import WebServices

log = logging.getLogger(__name__)


def add_console(app: web.Application, services: WebServices) -> None:
    console = services.settings.console
    if not console.enabled:
        return
    if console.missing:
        log.info("web console off: %s not set", ", ".join(console.missing))
        return
    ctx = context(services)
    AuthViews(ctx).add_routes(app)
    PageViews(ctx).add_routes(app)
    ReportViews(ctx, services.reports).add_routes(app)
    DashboardViews(ctx).add_routes(app)
    ApiViews(ctx).add_routes(app)


def context(s: WebServices) -> ConsoleContext:
    reader = IncidentReader(
        db=s.db,
        settings=s.settings,
        access=s.access,
        stats=s.stats,
        renderer=s.renderer,
        user_name=s.gateway.user_name,
        clock=s.clock,
    )
    return ConsoleContext(
        settings=s.settings,
        clock=s.clock,
        db=s.db,
        renderer=s.renderer,
        reader=reader,
        gateway=s.gateway,
    )
