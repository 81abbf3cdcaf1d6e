"""bridgekeeper serving its web console, and a visitor: an HTTP client with its own cookies
that signs in the way a person does, through the emulator's Sign in with Slack page."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest

from bridgekeeper.config import AutoDeclareRule, ConsoleSettings
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from tests import alerting
from tests.conftest import Running, Start, bridgekeepers, test_settings

SESSION_SECRET = "console-test-session-secret-0123456789"
GENERIC_DECLARES = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV1)


def console_settings(emulator: SlackEmulator, **changes: Any) -> ConsoleSettings:
    return replace(
        ConsoleSettings(
            session_secret=SESSION_SECRET,
            client_id=emulator.openid.client_id,
            client_secret=emulator.openid.client_secret,
        ),
        **changes,
    )


async def start_console(start: Start, emulator: SlackEmulator, **changes: Any) -> Running:
    """bridgekeeper with the console on, a triage channel, and generic SEV1 alerts declaring."""
    triage = emulator.add_channel("alert-triage", members=["UBOT", "U0ALICE"])
    alerts = replace(
        test_settings(db_url="sqlite:///unused.db", api_url=emulator.api_url).alerts,
        auto_declare=(GENERIC_DECLARES,),
    )
    return await start(
        triage_channel=triage, alerts=alerts, console=console_settings(emulator, **changes)
    )


@pytest.fixture
async def console(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start_console(start, emulator)


class Form(HTMLParser):
    """The first form of a page: its action and its fields (hidden ones and radio choices)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.choices: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = found.get("action", "")
        elif tag == "input" and found.get("type") == "radio":
            self.choices.setdefault(found["name"], []).append(found["value"])
        elif tag == "input" and "name" in found:
            self.fields[found["name"]] = found.get("value", "")


def read_form(page: str) -> Form:
    form = Form()
    form.feed(page)
    return form


class Visitor:
    """One person's browser, as far as HTTP goes: cookies kept, redirects followed."""

    def __init__(self, app: Running, http: aiohttp.ClientSession) -> None:
        self.app = app
        self.http = http

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        async with self.http.get(self.app.url + path, **kwargs) as response:
            return response.status, await response.text()

    async def api(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.app.url + "/api/v1" + path) as response:
            return response.status, json.loads(await response.text())

    async def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        async with self.http.post(self.app.url + path, data=data) as response:
            return response.status, await response.text()

    async def authorize_page(self, next_path: str = "/console/incidents") -> tuple[str, str]:
        """Start signing in: the emulator's page where one chooses who one is, and its URL."""
        async with self.http.get(
            f"{self.app.url}/console/auth/start", params={"next": next_path}
        ) as response:
            assert response.status == 200, await response.text()
            return str(response.url), await response.text()

    async def choose(self, page_url: str, page: str, user: str, *, follow: bool = True) -> Any:
        form = read_form(page)
        assert user in form.choices["user"], form.choices
        assert form.action is not None
        return await self.http.post(
            urljoin(page_url, form.action),
            data={**form.fields, "user": user},
            allow_redirects=follow,
        )

    async def sign_in(self, user: str = "U0ALICE") -> str:
        """Sign in as `user`; the page the console shows afterwards."""
        url, page = await self.authorize_page()
        async with await self.choose(url, page, user) as landed:
            assert landed.status == 200, await landed.text()
            assert landed.url.path == "/console/incidents"
            return str(await landed.text())

    def csrf(self, page: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None, "no CSRF token on the page"
        return found.group(1)


Visitors = Callable[..., Visitor]


@pytest.fixture
async def visitors(console: Running) -> AsyncIterator[Visitors]:
    opened: list[aiohttp.ClientSession] = []

    def visitor(app: Running | None = None) -> Visitor:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        opened.append(http)
        return Visitor(app or console, http)

    yield visitor
    for http in opened:
        await http.close()


async def declare(app: Running, text: str, user: str = "U0ALICE") -> None:
    reply = await app.command(f"declare {text}", user=user)
    assert reply.status == 200
    await app.settle()


async def alert_incident(app: Running, title: str) -> None:
    """An incident declared by a generic SEV1 alert (source "generic")."""
    answer = await alerting.post(app, "generic", alerting.generic(title, severity="sev1"))
    assert answer.status in (200, 201, 202), answer.body
    await app.settle()


def bridge(slack: SlackEmulator, number: int) -> str:
    """The id of incident `number`'s bridge channel."""
    return next(c.id for c in slack.channels.values() if c.name.startswith(f"inc-{number}-"))
