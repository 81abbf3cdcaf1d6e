"""Helpers for the alert tests: a bridgekeeper with a triage channel, and webhook posts."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select

from bridgekeeper.clock import Clock
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.models import Alert, Incident, TimelineEntry
from tests import conftest
from tests.conftest import ALERT_TOKEN, USERS, Running, Start, test_settings


class LaterClock:
    """The system clock, moved forward by hand: lets scheduled work fall due in a test."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Answer:
    status: int
    body: Any


@asynccontextmanager
async def bridgekeepers(
    db_url: str,
    emulator: SlackEmulator,
    transport: str = "http",
    *,
    web_api_over_http: bool = False,
) -> AsyncIterator[Start]:
    """Start bridgekeeper with a triage channel and any [alerts] settings changed."""
    async with conftest.bridgekeepers(
        db_url, emulator, transport, web_api_over_http=web_api_over_http
    ) as start_any:

        async def start(clock: Clock | None = None, **alerts: Any) -> Running:
            channel = emulator.add_channel("alert-triage", members=["UBOT", *USERS])
            base = test_settings(db_url=db_url, api_url=emulator.api_url).alerts
            return await start_any(
                clock=clock, triage_channel=channel, alerts=replace(base, **alerts)
            )

        yield start


async def post(
    app: Running,
    source: str,
    payload: Any,
    *,
    token: str | None = ALERT_TOKEN,
    headers: dict[str, str] | None = None,
    query: str = "",
    session: aiohttp.ClientSession | None = None,
) -> Answer:
    """POST a webhook body (JSON-encoded unless already bytes) to /alerts/{source}."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    url = f"{app.url}/alerts/{source}{query}"
    if session is not None:
        return await _post(session, url, body, sent)
    async with aiohttp.ClientSession() as own:
        return await _post(own, url, body, sent)


async def _post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> Answer:
    async with session.post(url, data=body, headers=headers) as response:
        text = await response.text()
        return Answer(response.status, json.loads(text) if text.startswith("{") else text)


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def alerts(app: Running) -> list[Alert]:
    async with app.bk.db.sessions() as session:
        return list((await session.scalars(select(Alert).order_by(Alert.id))).all())


async def alert(app: Running, alert_id: int) -> Alert:
    async with app.bk.db.sessions() as session:
        found = await session.get(Alert, alert_id)
    assert found is not None
    return found


async def incidents(app: Running) -> list[Incident]:
    async with app.bk.db.sessions() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def timeline(app: Running, incident_id: int) -> list[TimelineEntry]:
    async with app.bk.db.sessions() as session:
        query = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
        return list((await session.scalars(query.order_by(TimelineEntry.seq))).all())


def card_texts(app: Running) -> list[str]:
    """Every message in the triage channel, as its current blocks' JSON."""
    return [json.dumps(m.blocks) for m in app.slack.messages(triage_channel(app))]


def triage_channel(app: Running) -> str:
    channel = app.bk.settings.triage_channel
    assert channel is not None
    return channel


def generic(title: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, "severity": "sev2", **fields}
