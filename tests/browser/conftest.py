"""A real headless Chromium (the system's `chromium`, e.g. Debian's package) driven by
Playwright; nothing downloads a browser. Screenshots go to BRIDGEKEEPER_ARTIFACTS (default
test-artifacts/) so a CI run keeps them.

One Chromium serves every browser test of a test process, each test in a browser context of
its own (its own cookies, storage and window): started for each test, Chromium and Playwright's
driver took 1.6 s of CPU, more than most of these tests' own work. Playwright's objects belong
to the event loop they were made in, so these tests, and the fixtures they use, run in the
session's loop (`pytestmark` in each module; `db_url` and `emulator` are made again here).

Without a Chromium on PATH these tests are skipped, unless BRIDGEKEEPER_BROWSER_TESTS=required
(CI sets it), when they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import fresh_database, slack_emulator

CHROMIUM = os.environ.get("BRIDGEKEEPER_CHROMIUM") or next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)
REQUIRED = os.environ.get("BRIDGEKEEPER_BROWSER_TESTS") == "required"
ARTIFACTS = Path(os.environ.get("BRIDGEKEEPER_ARTIFACTS", "test-artifacts"))
FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine has no internet: nothing calls home
    "--disable-component-update",
    "--disable-sync",
]
# How long each `expect` waits for the page to show what it should: Playwright's 5 s ran out
# once, with the whole suite beside it on two cores, before a new bridge channel's status card
# was delivered and shown.
expect.set_options(timeout=20_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent  # the hook is given every test collected, not only these
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.browser)


IN_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")  # each module's `pytestmark`


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("no chromium on PATH (install Debian's chromium package)")
        pytest.skip("no chromium on PATH (install Debian's chromium package)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def db_url(template_database: str, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(template_database, tmp_path) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def emulator() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator() as slack:
        yield slack


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    yield opened
    await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact; its path."""
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
