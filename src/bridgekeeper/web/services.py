"""WebServices: what the web edge (web/ and console/) is given by the composition root (app.py),
and nothing more. Each endpoint picks from it the few things it uses."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.health import Health
from bridgekeeper.pending_answers import PendingAnswers
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.access import Access
from bridgekeeper.services.alert_api import AlertApi
from bridgekeeper.services.followup_sync import FollowupSync
from bridgekeeper.services.heartbeats import Heartbeats
from bridgekeeper.services.intake import IntakeService
from bridgekeeper.services.oncall import OnCallService
from bridgekeeper.services.reports import ReportService
from bridgekeeper.services.stats import IncidentStats
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.store.db import Database


@dataclass(frozen=True)
class WebServices:
    settings: Settings
    clock: Clock
    db: Database
    renderer: Renderer
    gateway: SlackGateway  # names of people, and the bot's workspace (the console's sign-in)
    bolt: AsyncApp  # /slack/events
    answers: PendingAnswers  # counts the Slack requests being answered
    health: Health
    intake: IntakeService
    alert_api: AlertApi
    heartbeats: Heartbeats
    followup_sync: FollowupSync
    reports: ReportService
    oncall: OnCallService
    access: Access  # the console's reads
    stats: IncidentStats  # the console's dashboard
