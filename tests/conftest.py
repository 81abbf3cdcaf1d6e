"""Shared fixtures: a real database (SQLite, or PostgreSQL when a URL is given), the Slack
emulator over HTTP, and bridgekeeper's real aiohttp server driven with signed requests.

Set BRIDGEKEEPER_TEST_DATABASE_URL=postgresql://user@host:5432/db to run every database test on
PostgreSQL: each test gets its own database cloned from a migrated template.

Modules marked `both_transports` run each of their tests twice: with Slack's requests over HTTP
and over a Socket Mode connection (the `transport` fixture).
"""

from __future__ import annotations

import asyncio
import atexit
import bisect
import gc
import itertools
import logging
import os
import shutil
import sqlite3
import sys
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.clock import Clock, SystemClock
from bridgekeeper.config import ProcessSettings, Settings, database_url, load_settings
from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.sandbox.driver import Reply
from bridgekeeper.slack.socket_mode import SocketModeConnection, start_socket_mode
from bridgekeeper.store.db import Database
from tests.helpers import settle

PG_URL = os.environ.get("BRIDGEKEEPER_TEST_DATABASE_URL", "")
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-bridgekeeper-test"
ALERT_TOKEN = "test-alert-token"
USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAVE": "dave"}


# pytest rewrites each test module's asserts when it imports it, 3 s of CPU in every test
# process, and keeps the result beside the module (__pycache__, which git ignores) unless
# bytecode may not be written; the suite keeps it even where PYTHONDONTWRITEBYTECODE is set, so
# that each run after the first reads it instead.
sys.dont_write_bytecode = False

LONG_TESTS_AT_ONCE = 3  # long tests running together, at most, as the run is ordered
SHORT_TEST_SECONDS = 0.3  # a short test, about, with the others running beside it
BROWSER_TEST_SECONDS = 5.0  # a browser test (not waiting: a Chromium drawing pages)


def pytest_report_header() -> str:
    return f"bridgekeeper database: {'PostgreSQL' if PG_URL else 'SQLite'}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "transport" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_transports"
    ):
        metafunc.parametrize("transport", ["http", "socket"], indirect=True)


@pytest.hookimpl(trylast=True)  # after tests/browser/conftest.py has marked its tests
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked `slow(seconds)`), longest first, started a few at a time among
    the short ones: most of them wait (on a process, a timeout, a minute of logs), so started
    together they would leave the cores idle, and started last they would leave one test
    process running alone at the end. Where each goes is reckoned from the seconds each takes
    and the share of test processes left to the short ones, which keep their collected order
    (a module split this way would make its module-scoped fixtures again; none of those
    modules has one)."""
    long = sorted((item for item in items if _seconds(item)), key=_seconds, reverse=True)
    short = [item for item in items if not _seconds(item)]
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(processes - LONG_TESTS_AT_ONCE, 1)
    done_at = list(itertools.accumulate(_short_seconds(item) / share for item in short))
    free_at = [0.0] * LONG_TESTS_AT_ONCE  # when each long test's place frees up (s)
    ordered, taken = [], 0
    for test in long:
        place = free_at.index(min(free_at))
        # at least one short test between two long ones: each test process is sent its
        # first two tests at once, and two long ones there would run one after the other
        upto = max(taken + bool(ordered), bisect.bisect_left(done_at, free_at[place]))
        upto = min(upto, len(short))
        ordered += [*short[taken:upto], test]
        started = done_at[upto - 1] if upto else 0.0
        taken, free_at[place] = upto, started + _seconds(test)
    items[:] = ordered + short[taken:]


def pytest_collection_finish() -> None:
    """What collection imported (SQLAlchemy's, pydantic's, Bolt's objects...) lives to the end:
    kept out of the cyclic collector, whose full passes walked all of it again and again (the
    collector's CPU in a test process fell by about a third). What the tests leave behind
    soon outgrows it again (200,000 objects), and a full pass over that took about 0.2 s, 8 to
    11 times in each process running tests/services and tests/slack: one every 100 passes
    over the middle generation instead of every 10 leaves only those asked for (here, and
    pytest's at the end), and halves the collector's time. A test process ends within
    minutes: what garbage it keeps longer is a few megabytes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 100)


def _end_without_finalising(pid: int) -> None:
    """A test process's last step, once pytest is done and its results sent: the interpreter's
    finalisation (freeing every module and object one by one, 1.5 to 2 s of CPU in a test
    process that ran a few hundred tests) is skipped. The run waits for every test process to
    end, and all of them end at once on two cores: that took 3 s of the run's end. What was
    to run at exit before this was registered is done here (logs flushed, objects' finalizers
    such as a temporary folder's removal); the status is 0, as a test process's always is
    (pytest-xdist reads the results it sent, not its status)."""
    if os.getpid() != pid:  # a fork of the test process ends as it would
        return
    logging.shutdown()
    weakref.finalize._exitfunc()  # type: ignore[attr-defined]
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _ends_without_finalising() -> bool:
    """Whether this is a test process of a parallel run whose end need not be waited on: not
    under coverage, whose data is written as the interpreter ends."""
    return bool(os.environ.get("PYTEST_XDIST_WORKER")) and "coverage" not in sys.modules


if _ends_without_finalising():
    # atexit runs the last registered first: this, registered as the test process starts,
    # runs after everything registered since
    atexit.register(_end_without_finalising, os.getpid())


def _short_seconds(item: pytest.Item) -> float:
    return BROWSER_TEST_SECONDS if item.get_closest_marker("browser") else SHORT_TEST_SECONDS


def _seconds(item: pytest.Item) -> float:
    """How long a test marked `slow` takes, about (0 for the others)."""
    marker = item.get_closest_marker("slow")
    return float(marker.args[0]) if marker else 0.0


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> str:
    """How Slack's requests reach bridgekeeper: "http" (signed POSTs) or "socket" (Socket Mode)."""
    return str(getattr(request, "param", "http"))


# -- databases ----------------------------------------------------------------------------------
def _pg_dsn(url: str, database: str | None = None) -> str:
    dsn = database_url(url).replace("postgresql+asyncpg://", "postgresql://")
    if database:
        dsn = dsn.rsplit("/", 1)[0] + "/" + database
    return dsn


def _sqlalchemy_pg(url: str, database: str) -> str:
    return "postgresql+asyncpg://" + _pg_dsn(url, database).removeprefix("postgresql://")


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that each test copies (a file on SQLite, a template on PostgreSQL)."""
    if not PG_URL:
        path = tmp_path_factory.mktemp("template") / "template.db"
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
        yield str(path)
        return
    name = f"bk_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(_migrate(_sqlalchemy_pg(PG_URL, name)))
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def copy_database(source: str, folder: Path) -> str:
    """A new database holding `source`'s content (a file on SQLite, a template database on
    PostgreSQL): its URL."""
    if not PG_URL:
        path = folder / f"bridgekeeper-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(source, path)
        return f"sqlite+aiosqlite:///{path}"
    name = f"bk_test_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return _sqlalchemy_pg(PG_URL, name)


async def drop_database(url: str) -> None:
    if PG_URL:
        await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@asynccontextmanager
async def fresh_database(template: str, folder: Path) -> AsyncIterator[str]:
    """A fresh, migrated database (a copy of `template`), dropped at the end: its URL."""
    url = await copy_database(template, folder)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def db_url(template_database: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    async with fresh_database(template_database, tmp_path) as url:
        yield url


@contextmanager
def built_database(
    template: str, folder: Path, build: Callable[[Running], Awaitable[object]]
) -> Iterator[str]:
    """A database bridgekeeper was run against once, `build` driving it, for tests to copy
    (`copy_database`): a long set-up made once for a module, not once for each of its tests."""
    source = asyncio.run(_build(template, folder, build))
    try:
        yield source
    finally:
        if PG_URL:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{source}" WITH (FORCE)'))


async def _build(template: str, folder: Path, build: Callable[[Running], Awaitable[object]]) -> str:
    url = await copy_database(template, folder)
    async with slack_emulator() as slack:
        app = await start_bridgekeeper(test_settings(db_url=url, api_url=slack.api_url), slack)
        try:
            await build(app)
            await app.settle()
        finally:
            await app.stop()
    if PG_URL:
        return url.rsplit("/", 1)[1]
    built, copy = url.removeprefix("sqlite+aiosqlite:///"), folder / "built.db"
    with closing(sqlite3.connect(built)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)  # the write-ahead log's pages too
    return str(copy)


@pytest.fixture
async def empty_db_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema at all (for migration tests)."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"bk_empty_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield _sqlalchemy_pg(PG_URL, name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- Slack emulator and a running bridgekeeper --------------------------------------------------
@asynccontextmanager
async def slack_emulator() -> AsyncIterator[SlackEmulator]:
    """The Slack emulator serving, with the test users in its workspace."""
    slack = SlackEmulator(bot_token=BOT_TOKEN)
    slack.add_people(USERS)
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator() as slack:
        yield slack


def test_settings(*, db_url: str, api_url: str, **overrides: object) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": db_url,
        "BRIDGEKEEPER_ALERT_TOKEN": ALERT_TOKEN,
    }
    settings = load_settings(env)
    return replace(settings, **overrides)  # type: ignore[arg-type]


class Running:
    """bridgekeeper serving on a real port, with the emulator and a Slack-side driver."""

    def __init__(
        self,
        bk: Bridgekeeper,
        slack: SlackEmulator,
        driver: SlackDriver,
        url: str,
        runner: web.AppRunner | None = None,
        socket: SocketModeConnection | None = None,
    ) -> None:
        self.bk = bk
        self.slack = slack
        self.driver = driver
        self.url = url
        self.runner = runner
        self.socket = socket
        self.general = slack.add_channel("general", members=list(USERS))

    async def settle(self, timeout: float = 10.0) -> None:
        await settle(self.bk, timeout=timeout)

    async def command(
        self, text: str, *, user: str = "U0ALICE", channel: str | None = None
    ) -> Reply:
        return await self.driver.command(text, user=user, channel=channel or self.general)

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self.runner is not None:
            await self.runner.cleanup()
        await self.bk.stop()


async def start_bridgekeeper(
    settings: Settings,
    slack: SlackEmulator,
    *,
    clock: Clock | None = None,
    transport: str = "http",
    web_api_over_http: bool = False,
) -> Running:
    """Serve on a free port and start the worker; over "socket", connect in Socket Mode too and
    drive Slack's side through the socket. bridgekeeper's Web API calls are answered by the
    emulator in this process (sandbox/in_process.py) unless `web_api_over_http`."""
    over_socket = transport == "socket"
    if over_socket:  # as deployed in Socket Mode: no signing secret, no Slack route over HTTP
        settings = replace(settings, slack_app_token=slack.app_token, slack_signing_secret="")
    client = None if web_api_over_http else slack.web_client(settings.slack_bot_token)
    bk = Bridgekeeper(settings, clock=clock or SystemClock(), slack_client=client)
    bk.gateway.limiter.scale = slack_pace(slack)
    runner = web.AppRunner(bk.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    bk.start_worker()
    socket = await connect_socket(bk) if over_socket else None
    if socket is not None:
        await slack.wait_socket_connected()
    driver = SlackDriver(slack, f"{url}/slack/events", SIGNING_SECRET, over_socket=over_socket)
    return Running(bk, slack, driver, url, runner, socket)


async def connect_socket(bk: Bridgekeeper) -> SocketModeConnection:
    """bridgekeeper's Socket Mode connection, as `serve` opens it."""
    return await start_socket_mode(
        bk.bolt, bk.gateway, answers=bk.pending_answers, app_token=bk.settings.slack_app_token
    )


def slack_pace(slack: SlackEmulator) -> float:
    """How many times Slack's published rates bridgekeeper may call this emulator at: the pace
    it enforces, else a Slack minute a second (the rate limiter at work without slowing down
    the tests that are not about it; tests/slack/test_rate_limits.py holds it to Slack's real
    pace)."""
    return slack.limiter.scale if slack.enforce_rate_limits else 60.0


@pytest.fixture
def web_api_over_http() -> bool:
    """Whether `running` calls the emulator over HTTP (tests/e2e/conftest.py: it does)."""
    return False


@pytest.fixture
async def running(
    db_url: str, emulator: SlackEmulator, transport: str, web_api_over_http: bool
) -> AsyncIterator[Running]:
    settings = test_settings(db_url=db_url, api_url=emulator.api_url)
    app = await start_bridgekeeper(
        settings, emulator, transport=transport, web_api_over_http=web_api_over_http
    )
    yield app
    await app.stop()


Start = Callable[..., Awaitable[Running]]


@asynccontextmanager
async def bridgekeepers(
    db_url: str,
    emulator: SlackEmulator,
    transport: str = "http",
    *,
    web_api_over_http: bool = False,
) -> AsyncIterator[Start]:
    """Start bridgekeepers with settings changed (`close=`, `alerts=`...) and an optional clock;
    all are stopped at the end."""
    started: list[Running] = []

    async def start(clock: Clock | None = None, **overrides: Any) -> Running:
        settings = test_settings(db_url=db_url, api_url=emulator.api_url, **overrides)
        app = await start_bridgekeeper(
            settings,
            emulator,
            clock=clock,
            transport=transport,
            web_api_over_http=web_api_over_http,
        )
        started.append(app)
        return app

    try:
        yield start
    finally:
        for app in started:
            await app.stop()


MANAGERS = "S0MANAGERS"


@pytest.fixture
async def managed(db_url: str, emulator: SlackEmulator, transport: str) -> AsyncIterator[Running]:
    """bridgekeeper whose incident managers' group holds Carol (Dave is in nobody's incident)."""
    emulator.add_usergroup(MANAGERS, "incident-managers", ["U0CAROL"])
    process = replace(ProcessSettings(), incident_managers_group=MANAGERS)
    async with bridgekeepers(db_url, emulator, transport) as start:
        yield await start(process=process)
