"""`bridgekeeper sandbox` in a real browser: the web client shows the emulator's state, and what
a person does there reaches bridgekeeper as Slack's own requests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from bridgekeeper.sandbox.client import Sandbox, start_sandbox
from tests.browser.conftest import IN_SESSION_LOOP, screenshot

pytestmark = IN_SESSION_LOOP


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox() -> AsyncIterator[Sandbox]:
    started = await start_sandbox(port=0)
    yield started
    await started.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def narrow(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    opened = await context.new_page()
    yield opened
    await context.close()


def channel_button(page: Page, name: str | re.Pattern[str]) -> Locator:
    return page.get_by_role("navigation", name="Channels").get_by_role("button", name=name)


def message(page: Page, text: str) -> Locator:
    return page.locator("#messages > li", has_text=text)


async def type_in_composer(page: Page, text: str) -> None:
    await page.get_by_label(re.compile(r"^Message ")).fill(text)
    await page.get_by_label(re.compile(r"^Message ")).press("Enter")


async def test_an_incident_from_declaration_and_alert_to_report(
    page: Page, sandbox: Sandbox
) -> None:
    await page.goto(sandbox.url)
    await expect(page.locator("#channel-name")).to_have_text("# alert-triage")

    # declared from the composer: the bridge channel appears, with its status card
    await type_in_composer(page, "/incident declare Database down sev2")
    await expect(message(page, "Incident 1 declared")).to_contain_text("Only visible to you")
    await channel_button(page, re.compile("inc-1-database-down")).click()
    card = message(page, "Incident 1: Database down")
    await expect(card).to_be_visible()
    await expect(card.get_by_role("button").first).to_be_visible()
    await expect(card).to_contain_text("Pinned")  # the bot pinned its status card
    await expect(page.locator("#channel-topic")).to_contain_text("SEV2")
    await type_in_composer(page, "/incident role analyst @bob")
    await expect(card).to_contain_text("Analyst: @bob")
    handoff = message(page, "@alice made @bob analyst")  # Slack's emoji, not their names
    await expect(handoff).to_contain_text("\U0001f464 @alice made @bob analyst")
    # people's text is shown as text, never as markup
    await type_in_composer(page, "<img src=x onerror=alert(1)> & *bold*")
    typed = message(page, "<img src=x onerror=alert(1)> & bold")
    await expect(typed.locator(".author")).to_have_text("alice")
    await expect(typed.locator("strong")).to_have_text("bold")
    await expect(page.locator("#messages img")).to_have_count(0)
    await screenshot(page, "sandbox-declared")

    # an example alert from the menu: its triage card, then Declare incident on it
    await channel_button(page, re.compile("alert-triage")).click()
    await page.get_by_label("Example alert").select_option("datadog")
    await page.get_by_role("button", name="Send alert").click()
    await expect(page.get_by_role("status")).to_contain_text("HTTP 202")
    triage_card = message(page, "Disk almost full on database hosts")
    await expect(triage_card).to_be_visible()
    await screenshot(page, "sandbox-alert-card")
    await triage_card.get_by_role("button", name="Declare incident").click()
    await expect(channel_button(page, re.compile("inc-2-"))).to_be_visible()
    await screenshot(page, "sandbox-alert-declared")

    # closing incident 1: the form opens, refuses an empty summary inline, then closes it
    await channel_button(page, re.compile("inc-1-database-down")).click()
    await type_in_composer(page, "/incident close")
    modal = page.get_by_role("dialog")
    await expect(modal).to_be_visible()
    await expect(modal.get_by_role("heading", level=2)).to_have_text("Close incident 1")
    await modal.get_by_label("Resolution summary").fill("")
    await modal.get_by_role("button", name="Close incident").click()
    await expect(modal.get_by_role("alert").first).to_be_visible()
    await screenshot(page, "sandbox-close-form-errors")
    await modal.get_by_label("Resolution summary").fill("The primary ran out of disk; space freed.")
    await modal.get_by_label(re.compile("^Root cause")).fill("WAL archiving stalled.")
    await modal.get_by_label("Disposition").select_option("resolved")
    await modal.get_by_role("button", name="Close incident").click()
    await expect(modal).to_be_hidden()
    report = page.locator("#messages a.file")
    await expect(report.first).to_be_visible()
    await screenshot(page, "sandbox-closed-report")
    async with page.context.expect_page() as opened:
        await report.first.click()
    shown = await opened.value
    await expect(shown.locator("body")).to_contain_text("Incident 1: Database down")
    await expect(shown.locator("body")).to_contain_text("The primary ran out of disk; space freed.")
    await screenshot(shown, "sandbox-report-opened")


async def test_a_private_incident_is_not_listed_for_someone_outside_it(
    page: Page, sandbox: Sandbox
) -> None:
    await page.goto(sandbox.url)
    await expect(page.locator("#channel-name")).to_have_text("# alert-triage")
    await type_in_composer(page, "/incident declare Leaked signing key private sev2")
    private = channel_button(page, re.compile(r"inc-1-.*\(private\)"))
    await expect(private).to_be_visible()
    await type_in_composer(page, "/incident declare Checkout errors sev3")
    await expect(channel_button(page, re.compile("inc-2-checkout-errors"))).to_be_visible()
    await screenshot(page, "sandbox-private-as-alice")

    await page.get_by_label("Act as").select_option(label="dave")
    await expect(channel_button(page, re.compile("inc-2-checkout-errors"))).to_be_visible()
    await expect(private).to_have_count(0)
    # dave may join the public one; the bot is told (member_joined_channel)
    await channel_button(page, re.compile("inc-2-checkout-errors")).click()
    await page.get_by_role("button", name="Join channel").click()
    await expect(page.get_by_role("button", name="Join channel")).to_be_hidden()
    joined = sandbox.slack.channel_by_name("inc-2-checkout-errors")
    assert joined is not None and "U0DAVE" in joined.members
    await screenshot(page, "sandbox-private-as-dave")
    # the app's Home tab, as published for dave: the public incident, nothing of the private one
    await channel_button(page, re.compile("Home")).click()
    await expect(page.locator("#messages")).to_contain_text("Checkout errors")
    await expect(page.locator("#messages")).not_to_contain_text("Leaked signing key")
    await screenshot(page, "sandbox-home-as-dave")


async def test_a_bridge_channel_is_readable_in_a_390px_window(
    narrow: Page, sandbox: Sandbox
) -> None:
    page = narrow
    await page.goto(sandbox.url)
    await expect(page.locator("#channel-name")).to_have_text("# alert-triage")
    composer = page.get_by_label(re.compile(r"^Message "))
    await composer.fill("/incident declare Database down sev2")
    await composer.press("Enter")
    await expect(page.locator("#messages > li", has_text="Incident 1 declared")).to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "sandbox-narrow-390")
    sizes = await page.evaluate(
        """() => ({page: document.documentElement.scrollWidth, window: window.innerWidth,
                   messages: document.querySelector('#messages').getBoundingClientRect().width})"""
    )
    assert sizes["page"] <= sizes["window"], f"the page scrolls sideways: {sizes}"
    assert sizes["messages"] >= 0.75 * sizes["window"], f"the messages are squeezed: {sizes}"


async def test_an_update_leaves_what_did_not_change_in_place(page: Page, sandbox: Sandbox) -> None:
    """A click lands on the element under the pointer: were the page to draw every message and
    channel again at each update, a click made while the bot posts would be lost."""
    await page.goto(sandbox.url)
    await expect(page.locator("#channel-name")).to_have_text("# alert-triage")
    sandbox.slack.state.im_channel("U0ALICE")  # the bot's messages to alice: listed last
    await type_in_composer(page, "first look at the disk alert")
    await expect(channel_button(page, "@bridgekeeper")).to_be_visible()
    first = await message(page, "first look at the disk alert").element_handle()
    channels = page.get_by_role("navigation", name="Channels").get_by_role("button")
    before = await channels.element_handles()
    await type_in_composer(page, "/incident declare Disk full sev3")
    await expect(channel_button(page, re.compile("inc-1-disk-full"))).to_be_visible()
    await expect(message(page, "Incident 1 declared")).to_be_visible()
    assert await first.evaluate("node => node.isConnected")
    # the new channel is listed among them (before the direct messages), and each is kept
    assert len(await channels.element_handles()) == len(before) + 1
    assert [await button.evaluate("node => node.isConnected") for button in before] == [True] * len(
        before
    )


async def test_a_mention_of_a_private_channel_shows_its_name_once_the_viewer_is_in_it(
    page: Page, sandbox: Sandbox
) -> None:
    """A message left as it was drawn is still drawn again when a name it shows changes."""
    await page.goto(sandbox.url)
    await expect(page.locator("#channel-name")).to_have_text("# alert-triage")
    room = sandbox.slack.add_channel("war-room", is_private=True, members=["U0BOB"])
    triage = sandbox.slack.channel_by_name("alert-triage")
    assert triage is not None
    sandbox.slack.post_user_message(triage.id, "U0BOB", f"moving to <#{room}>")
    await expect(message(page, "moving to #private-channel")).to_be_visible()
    sandbox.slack.channels[room].members.add("U0ALICE")
    await type_in_composer(page, "on my way")
    await expect(message(page, "on my way")).to_be_visible()
    await expect(message(page, "moving to #war-room")).to_be_visible()
