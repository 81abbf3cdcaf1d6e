"""The web console in a real browser: signing in through the emulator's Sign in with Slack
page, the incidents list, an incident's page, and a private incident not found for an
outsider (its page and the API), a form sent without its CSRF token refused.
Screenshots are kept as artifacts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Page, expect

from bridgekeeper.sandbox import SlackEmulator
from tests.browser.conftest import IN_SESSION_LOOP, screenshot
from tests.conftest import Running, bridgekeepers
from tests.console.conftest import alert_incident, bridge, declare, start_console

pytestmark = IN_SESSION_LOOP

SECRET = "Payroll exfiltration by contractor"
SIZES = """() => ({page: document.documentElement.scrollWidth, window: window.innerWidth,
    signOut: document.querySelector('.signout button').getBoundingClientRect().right})"""


@pytest_asyncio.fixture(loop_scope="session")
async def console(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        app = await start_console(start, emulator)
        await declare(app, "Website slow for EU customers sev2")
        await alert_incident(app, "CPU on fire on web-3")
        await declare(app, f"{SECRET} sev1 private")
        said = (
            "role scribe <@U0BOB>",
            "impact c=high i=low a=none",
            "task Revoke the contractor's keys",
            "note HR informed",
            "notify gdpr",
        )
        for text in said:
            assert (await app.command(text, channel=bridge(app.slack, 3))).status == 200
        await app.settle()
        yield app


async def sign_in(page: Page, app: Running, name: str) -> None:
    await page.goto(f"{app.url}/console/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_role("link", name="Sign in with Slack").click()
    await page.get_by_label(name, exact=True).check()  # the emulator's authorize page
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    await expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


async def test_a_member_lists_incidents_and_opens_one(page: Page, console: Running) -> None:
    await sign_in(page, console, "alice")
    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(4)  # the header and three incidents
    await screenshot(page, "console-incidents")
    await page.get_by_label("Severity").select_option("sev1")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"severity=sev1"))
    await expect(rows).to_have_count(3)
    await page.get_by_role("link", name=SECRET).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Incident 3: {SECRET}")
    for section in ("Status", "Tasks", "Alerts", "Regulatory clocks", "Notes", "Timeline"):
        await expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    await expect(page.get_by_role("cell", name="Revoke the contractor's keys")).to_be_visible()
    await expect(page.locator(".timeline li")).to_have_count(6)
    await screenshot(page, "console-incident")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name="Sign in with Slack")).to_be_visible()


async def test_an_outsider_finds_no_private_incident(page: Page, console: Running) -> None:
    await sign_in(page, console, "dave")
    await expect(page.get_by_role("link", name=SECRET)).to_have_count(0)
    await expect(page.get_by_text("2 incidents")).to_be_visible()
    response = await page.goto(f"{console.url}/console/incidents/3")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.get_by_text(SECRET)).to_have_count(0)
    await screenshot(page, "console-not-found")
    for path in ("/api/v1/incidents/3", "/api/v1/incidents/3/timeline"):
        answer = await page.request.get(f"{console.url}{path}")  # the browser's session
        assert answer.status == 404 and SECRET not in await answer.text()
    assert (await page.request.get(f"{console.url}/api/v1/incidents/1")).status == 200


async def test_a_form_without_its_csrf_token_is_refused(page: Page, console: Running) -> None:
    await sign_in(page, console, "alice")
    await page.locator('form input[name="csrf"]').evaluate_all(
        "inputs => inputs.forEach(input => input.remove())"
    )
    async with page.expect_response(re.compile(r"/console/signout$")) as answered:
        await page.get_by_role("button", name="Sign out").click()
    assert (await answered.value).status == 403
    await screenshot(page, "console-csrf-refused")
    await page.goto(f"{console.url}/console/")
    await expect(page.get_by_text("Signed in as alice")).to_be_visible()  # nothing was changed


async def test_the_dashboard_draws_its_charts_with_their_numbers(
    page: Page, console: Running
) -> None:
    await sign_in(page, console, "alice")
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    charts = page.locator('svg[role="img"]')
    await expect(charts).to_have_count(7)
    await expect(charts.locator("> title")).to_contain_text(
        [
            "Mean time to acknowledge (MTTA), per week",
            "Mean time to resolve (MTTR), per week",
            "Incidents per week, by severity",
            "Incidents per week, by alert source",
            "False-positive rate per alert source",
            "Time to the first stakeholder update, per week",
            "Regulatory deadlines met and missed",
        ]
    )
    by_severity = page.get_by_role("img", name="Incidents per week, by severity")
    await expect(by_severity.locator("rect title")).to_contain_text(
        [re.compile(r"SEV1: 2 incidents$"), re.compile(r"SEV2: 1 incident$")]
    )
    regulatory = page.get_by_role("table", name="Regulatory deadlines met and missed")
    await expect(regulatory.get_by_role("row", name=re.compile("GDPR"))).to_be_visible()
    await page.get_by_label("Period", exact=True).select_option("30")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"days=30"))
    await screenshot(page, "console-dashboard")


UNNAMED_CONTROLS = """() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea, button')]
    .filter(control => !(control.labels && control.labels.length)
        && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby')
        && !(control.tagName === 'BUTTON' && control.textContent.trim()))
    .map(control => control.outerHTML)"""

LOW_CONTRAST = """() => {
    const rgb = text => text.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
        const linear = c => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const background = element => {
        for (let at = element; at; at = at.parentElement) {
            const colour = rgb(getComputedStyle(at).backgroundColor);
            if (colour.length < 4 || colour[3] > 0) return colour;
        }
        return [255, 255, 255];
    };
    const texts = [...document.querySelectorAll('body *')].filter(element =>
        [...element.childNodes].some(node => node.nodeType === 3 && node.textContent.trim())
        && element.getClientRects().length && !element.closest('svg'));
    return texts.map(element => {
        const [a, b] = [luminance(rgb(getComputedStyle(element).color)),
                        luminance(background(element))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        return [ratio, element.tagName + ': ' + element.textContent.trim().slice(0, 40)];
    }).filter(([ratio]) => ratio < 4.5);
}"""


async def test_every_page_is_labelled_legible_and_works_from_the_keyboard(
    page: Page, console: Running
) -> None:
    await sign_in(page, console, "alice")
    for path in ("/console/", "/console/incidents/3", "/console/dashboard"):
        await page.goto(f"{console.url}{path}")
        assert await page.evaluate(UNNAMED_CONTROLS) == [], path
        assert await page.evaluate(LOW_CONTRAST) == [], path
    await page.goto(f"{console.url}/console/")
    for _ in range(30):  # Tab through the page to the dashboard's link, then follow it
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim()") == "Dashboard":
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


async def test_the_console_fits_a_390px_window(page: Page, console: Running) -> None:
    await sign_in(page, console, "alice")
    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/console/", "/console/incidents/1", "/console/dashboard"):
        await page.goto(f"{console.url}{path}")
        await screenshot(page, f"console-narrow-{path.strip('/').replace('/', '-')}")
        sizes = await page.evaluate(SIZES)
        assert sizes["signOut"] <= sizes["window"], f"{path}: Sign out is off screen: {sizes}"
        assert sizes["page"] <= sizes["window"], f"{path}: the page scrolls sideways: {sizes}"
