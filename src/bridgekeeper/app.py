"""Composition root: builds every part from Settings. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bridgekeeper import metrics
from bridgekeeper.clock import Clock, SystemClock, wait_at_most
from bridgekeeper.config import Settings
from bridgekeeper.effects.deliver import Deliverer
from bridgekeeper.effects.worker import OutboxWorker
from bridgekeeper.health import Health
from bridgekeeper.logs import bolt_logger, log_failure
from bridgekeeper.pending_answers import PendingAnswers
from bridgekeeper.rendering import Renderer
from bridgekeeper.scheduling.scheduler import Scheduler
from bridgekeeper.services.alert_api import AlertApi
from bridgekeeper.services.archiving import ArchivingService
from bridgekeeper.services.closing import ClosingService
from bridgekeeper.services.evidence import Evidence
from bridgekeeper.services.followup_sync import FollowupSync
from bridgekeeper.services.followups import EFFECT as FOLLOWUP_EFFECT
from bridgekeeper.services.followups import Followups
from bridgekeeper.services.heartbeats import Heartbeats
from bridgekeeper.services.home import HomeTab
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.indicators import Indicators
from bridgekeeper.services.intake import IntakeService
from bridgekeeper.services.lifecycle import Lifecycle
from bridgekeeper.services.oncall import OnCallService
from bridgekeeper.services.pagerduty import PagerDuty
from bridgekeeper.services.paging import EFFECT as PAGERDUTY_EFFECT
from bridgekeeper.services.paging import Paging
from bridgekeeper.services.regulatory import Regulatory
from bridgekeeper.services.report_preview import ReportPreview
from bridgekeeper.services.reports import ReportService
from bridgekeeper.services.runner import CommandRunner
from bridgekeeper.services.schedules import Schedules
from bridgekeeper.services.stats import IncidentStats
from bridgekeeper.services.triage import TriageService
from bridgekeeper.services.updates import Updates
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.alert_actions import AlertActions
from bridgekeeper.slack.card_actions import CardActions
from bridgekeeper.slack.close_actions import CloseActions
from bridgekeeper.slack.evidence_actions import EvidenceActions
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.home_actions import HomeActions
from bridgekeeper.slack.listeners import SlackListeners
from bridgekeeper.slack.page_actions import PageActions
from bridgekeeper.slack.rate_limiter import RateLimiter
from bridgekeeper.slack.redelivery import SkipRedelivered
from bridgekeeper.slack.update_actions import UpdateActions
from bridgekeeper.store.db import Database
from bridgekeeper.store.rate_buckets import buckets_for
from bridgekeeper.trackers import connect as trackers
from bridgekeeper.web.server import build_web_app
from bridgekeeper.web.services import WebServices

log = logging.getLogger(__name__)
ARCHIVE_CHECK_SECONDS = 60.0
DRAIN_SECONDS = 10.0  # how long stop() waits for work acknowledged but not yet done


class Bridgekeeper:
    """One running bridgekeeper: database, Slack gateway, services, worker and web app."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        slack_client: AsyncWebClient | None = None,
    ) -> None:
        """`slack_client`: the Web API client to call Slack through, when not one over HTTP to
        `slack_api_url` (the sandbox's emulator answering in this process)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url, settings.database)
        self.renderer = Renderer(
            [settings.reports.template_dir] if settings.reports.template_dir else []
        )
        self.gateway = SlackGateway(
            token=settings.slack_bot_token,
            api_url=settings.slack_api_url,
            limiter=RateLimiter(buckets_for(self.db)),
            client=slack_client,
        )
        self.incidents = IncidentService(
            db=self.db,
            clock=self.clock,
            settings=settings,
            renderer=self.renderer,
            directory=self.gateway,
        )
        self.pending_answers = PendingAnswers()
        self.runner = CommandRunner(
            settings=settings,
            renderer=self.renderer,
            access=self.incidents.access,
            answers=self.pending_answers,
        )
        self.lifecycle = Lifecycle(self.incidents)
        self.lifecycle.register(self.runner)
        self.followups = Followups(self.incidents)
        self.followups.register(self.runner)
        self.tracker_http = trackers.Connection()
        self.followup_sync = FollowupSync(
            self.incidents, tracker=trackers.build(settings.trackers, self.tracker_http)
        )
        self.evidence = Evidence(self.incidents, open_view=self.gateway.open_view)
        self.evidence.register(self.runner)
        Indicators(self.incidents).register(self.runner)
        self.scheduler = Scheduler(db=self.db, clock=self.clock)
        self.updates = Updates(self.incidents, self.scheduler)
        self.updates.register(self.runner)
        self.incidents.after_change.append(self.updates.sync)
        self.incidents.after_change.append(metrics.incident_changed)
        self.regulatory = Regulatory(self.incidents, self.scheduler)
        self.regulatory.register(self.runner)
        self.reports = ReportService(
            db=self.db,
            clock=self.clock,
            renderer=self.renderer,
            user_name=self.gateway.user_name,
            channel_name=self.gateway.channel_name,
        )
        self.closing = ClosingService(
            incidents=self.incidents, reports=self.reports, open_view=self.gateway.open_view
        )
        self.closing.register(self.runner)
        ReportPreview(incidents=self.incidents, reports=self.reports).register(self.runner)
        self.archiving = ArchivingService(incidents=self.incidents)
        self.closing.on_close.append(self.followups.at_close)
        self.schedules = Schedules(
            settings=settings.oncall,
            clock=self.clock,
            directory=self.gateway,
            http=self.tracker_http,
        )
        self.oncall = OnCallService(
            db=self.db,
            clock=self.clock,
            settings=settings,
            directory=self.gateway,
            access=self.incidents.access,
            schedules=self.schedules,
        )
        self.oncall.register(self.runner)
        self.paging = Paging(self.incidents, self.scheduler, self.oncall)
        self.paging.register(self.runner)
        self.closing.on_close.append(self.paging.at_close)
        self.pagerduty = PagerDuty(
            db=self.db, settings=settings, renderer=self.renderer, http=self.tracker_http
        )
        self.stats = IncidentStats(db=self.db, clock=self.clock)
        self.stats.register(self.runner)
        self.intake = IntakeService(
            db=self.db, clock=self.clock, settings=settings, incidents=self.incidents
        )
        self.triage = TriageService(db=self.db, clock=self.clock, incidents=self.incidents)
        self.heartbeats = Heartbeats(
            db=self.db,
            clock=self.clock,
            intake=self.intake,
            scheduler=self.scheduler,
            configured=settings.heartbeats,
        )
        self.home = HomeTab(
            db=self.db,
            clock=self.clock,
            renderer=self.renderer,
            access=self.incidents.access,
            common=self.runner.common,
            console_link=settings.console.link,
        )
        self.incidents.after_change.append(self.home.changed)
        self.deliverer = Deliverer(
            db=self.db,
            gateway=self.gateway,
            renderer=self.renderer,
            settings=settings,
            clock=self.clock,
            schedules=self.schedules,
            home=self.home.markup,
        )
        self.deliverer.handlers[FOLLOWUP_EFFECT] = self.followup_sync.deliver
        self.deliverer.handlers[PAGERDUTY_EFFECT] = self.pagerduty.deliver
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.worker = OutboxWorker(
            db=self.db,
            deliver=self.deliverer,
            clock=self.clock,
            holder=self.holder,
            max_attempts=settings.outbox_max_attempts,
            claim_seconds=settings.outbox_claim_seconds,
            told=self.incidents.told,
        )
        self.db.on_commit(self.worker.wake)
        self.health = Health(self.db)
        self.bolt = self._bolt_app()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _bolt_app(self) -> AsyncApp:
        # Signatures are checked on every HTTP request; Socket Mode's arrive over the WebSocket
        # unsigned and Bolt lets them through. Without a signing secret (Socket Mode only),
        # /slack/events is not served, and a random secret would refuse it anyway.
        app = AsyncApp(
            # Bolt names its loggers after the app (and sets their level): the name must not be
            # a parent of ours. Without one it reads the caller's source for it (inspect.stack).
            name="bridgekeeper.bolt",
            signing_secret=self.settings.slack_signing_secret or secrets.token_hex(32),
            client=self.gateway.client,
            authorize=self._authorizer(),
            process_before_response=True,  # each listener returns once it acks (slack/acking.py)
            request_verification_enabled=True,
            logger=bolt_logger(),
        )
        app.use(SkipRedelivered(db=self.db, clock=self.clock).middleware)
        self.acks = AckFirst(app, self.runner.busy)
        self._register_listeners(self.acks)
        return app

    def _register_listeners(self, app: AckFirst) -> None:
        SlackListeners(runner=self.runner, gateway=self.gateway, incidents=self.incidents).register(
            app
        )
        AlertActions(triage=self.triage, renderer=self.renderer, gateway=self.gateway).register(app)
        CardActions(runner=self.runner, lifecycle=self.lifecycle, gateway=self.gateway).register(
            app
        )
        EvidenceActions(
            runner=self.runner, gateway=self.gateway, incidents=self.incidents
        ).register(app)
        UpdateActions(
            updates=self.updates,
            renderer=self.renderer,
            gateway=self.gateway,
        ).register(app)
        CloseActions(
            closing=self.closing,
            renderer=self.renderer,
            gateway=self.gateway,
            common=self.runner.common,
        ).register(app)
        HomeActions(home=self.home, runner=self.runner, gateway=self.gateway).register(app)
        PageActions(paging=self.paging, runner=self.runner, gateway=self.gateway).register(app)

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """No Web API call on the ack path: a slash command is answered even while Slack's
        API is down (Bolt's default authorization would call auth.test first)."""
        token, gateway = self.settings.slack_bot_token, self.gateway

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=token,
                bot_user_id=gateway.known_bot_user_id,
            )

        return authorize

    def web_app(self) -> web.Application:
        return build_web_app(self._web_services())

    def _web_services(self) -> WebServices:
        return WebServices(
            settings=self.settings,
            clock=self.clock,
            db=self.db,
            renderer=self.renderer,
            gateway=self.gateway,
            bolt=self.bolt,
            answers=self.pending_answers,
            health=self.health,
            intake=self.intake,
            alert_api=AlertApi(
                db=self.db, clock=self.clock, intake=self.intake, incidents=self.incidents
            ),
            heartbeats=self.heartbeats,
            followup_sync=self.followup_sync,
            reports=self.reports,
            oncall=self.oncall,
            access=self.incidents.access,
            stats=self.stats,
        )

    async def prepare_database(self) -> None:
        """Create or upgrade the schema (under an advisory lock on PostgreSQL)."""
        await self.db.upgrade()

    def watch_event_loop(self) -> None:
        """Measure how long the event loop is held by one step (metrics: event loop lag)."""
        self._background(metrics.watch_event_loop(self._stop), "the event loop's watch")

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` until stop; should it end with an error, that is logged at once (it
        would otherwise be seen only at stop, and swallowed there)."""
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(partial(log_failure, log, f"{name} stopped"))
        self._tasks.append(task)

    def start_worker(self) -> None:
        """Deliver the outbox (every replica: lanes are claimed, store/lanes.py), archive due
        channels, and run the scheduler while this process leads."""
        self.health.watch_worker(self.worker)
        self._background(self.worker.run(self._stop), "the outbox worker")
        self._background(self.scheduler.lead(self.holder, self._stop), "the scheduler's lead")
        self._background(self._archive_when_due(), "archiving")
        self._background(self._poll_trackers(), "the trackers' poll")

    async def _poll_trackers(self) -> None:
        """Read open follow-up issues' state from the tracker, every [trackers] poll_minutes."""
        minutes = self.settings.trackers.poll_minutes
        if not minutes or self.followup_sync.tracker is None:
            return
        while not self._stop.is_set():
            await wait_at_most(self._stop, minutes * 60.0)
            if self._stop.is_set() or not self.scheduler.leading:
                continue
            try:
                await self.followup_sync.poll()
            except Exception:
                log.exception("polling the tracker failed; trying again")

    async def _archive_when_due(self) -> None:
        """Archive closed incidents' channels once their delay has passed, and compile the
        reports of closes whose process stopped or whose compile failed (safe on every
        replica: each incident, each report, is claimed first)."""
        while not self._stop.is_set():
            try:
                await self.archiving.run_due_archives()
                await self.closing.publish_stopped()
            except Exception:
                log.exception("the closed incidents' periodic work failed; trying again")
            await wait_at_most(self._stop, ARCHIVE_CHECK_SECONDS)

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop, once the work acknowledged to users is done (for up to `drain_seconds`): a
        SIGTERM right after an ack does not lose what the user did. Work still running then is
        cancelled before the database is closed under it."""
        await self._drain(drain_seconds)
        self._stop.set()
        self.worker.wake()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await task
        await self.intake.close()
        await self.incidents.access.close()
        await self.scheduler.let_go(self.holder)
        await self.gateway.close()
        await self.tracker_http.close()
        await self.db.dispose()

    async def _drain(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.runner.wait_idle(), timeout=seconds)
        except TimeoutError:
            cut = await self.acks.cancel()
            log.warning(
                "stopping: %d acknowledged request(s) still unfinished after %.0f s were cut short",
                cut,
                seconds,
            )
