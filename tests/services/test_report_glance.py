"""What a reader sees first in a report: the figures at a glance, the timeline picture, people
and channels by name, times a browser can show in the reader's zone, and the marking of a
private incident's report."""

from __future__ import annotations

import base64
import hashlib
import re

import aiohttp

from bridgekeeper.config import ReportSettings
from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import USERS, Running, Start
from tests.services.test_close import declare, reports, say
from tests.services.test_close import serve as serve  # a fixture
from tests.services.test_report import TOKEN, Scripted, section
from tests.services.test_report import scripted as scripted  # a fixture

MARKING = "CONFIDENTIAL — restricted to the incident\u2019s members"
SLACK_ID = re.compile(r"\b[UCGW]0[A-Z0-9]{3,}\b")


def glance(html: str) -> dict[str, str]:
    block = html.split('<dl class="glance', 1)[1].split("</dl>", 1)[0]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", block))


async def test_the_html_report_opens_with_its_figures_and_picture(scripted: Scripted) -> None:
    html = scripted.html
    assert glance(html) == {
        "Severity": "SEV1 (from SEV2)",
        "Duration": "2h 0m",
        "Acknowledged in": "5m",
        "Declared in": "10m",
        "Contained in": "1h 10m",
        "Resolved in": "2h 10m",
        "Impact": "C high · I low · A medium · personal data involved",
    }
    assert html.index('<dl class="glance') < html.index("<svg") < html.index('id="summary"')
    title = "Timeline of incident 1: Suspicious login on vm-web-01"
    assert f'<title id="tp-title-1">{title}</title>' in html
    assert "Detect from 2026-01-01 09:10 UTC, Assess from 2026-01-01 09:35 UTC" in html
    first_seen = '<time datetime="2026-01-01T09:00:00Z">2026-01-01 09:00:00 UTC</time>'
    assert f"First seen: {first_seen}" in html
    assert "CONFIDENTIAL" not in html and "@top-center" not in html


async def test_the_markdown_report_opens_with_its_figures(scripted: Scripted) -> None:
    head = scripted.md.split("\n## ", 1)[0]
    assert (
        "\n**At a glance**: SEV1 (from SEV2) · duration 2h 0m · acknowledged in 5m · declared in"
        " 10m · contained in 1h 10m · resolved in 2h 10m · impact C high, I low, A medium,"
        " personal data involved\n\n"
    ) in head
    assert "<svg" not in scripted.md and "CONFIDENTIAL" not in scripted.md


async def test_people_and_channels_are_named(serve: Start, emulator: SlackEmulator) -> None:
    stakeholders = emulator.add_channel("exec-updates", members=list(USERS))
    running = await serve(stakeholder_channel=stakeholders)
    channel = await declare(running, "Payment API errors")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "role scribe <@U0BOB>")
    await say(running, channel, "update Payments fail for one customer in ten")
    await say(running, channel, "close Rolled back the release")
    rows = {r.format: r.text for r in await reports(running)}
    places = "alice to #inc-1-payment-api-errors, #exec-updates: "
    assert f"{places}Payments fail" in section(rows["md"], "Communications log")
    assert f'{places}<span class="pre">Payments fail' in rows["html"]
    assert "Commander: alice" in rows["md"] and "Scribe: bob" in rows["md"]
    for fmt in ("md", "html"):
        assert not SLACK_ID.findall(rows[fmt]), fmt


async def test_only_a_private_incident_s_report_is_marked(running: Running) -> None:
    public = await declare(running, "Shop outage")
    await say(running, public, "role commander <@U0ALICE>")
    await say(running, public, "close restarted it")
    secret = await declare(running, "Insider case", "sev2 private")
    await say(running, secret, "role commander <@U0ALICE>")
    await say(running, secret, "close HR took over")
    shown = {(r.format, n): r.text for n in (1, 2) for r in await reports(running, n)}
    html, md = shown["html", 2], shown["md", 2]
    assert f'<body>\n<p class="confidential">{MARKING}</p>\n<h1>' in html
    assert f'@top-center {{ content: "{MARKING}";' in html  # on every printed page
    assert md.startswith(f"**{MARKING}**\n\n# Incident 2: Insider case\n")
    for fmt in ("html", "md"):
        assert "CONFIDENTIAL" not in shown[fmt, 1]


async def test_the_report_runs_its_own_script_and_no_other(serve: Start) -> None:
    running = await serve(reports=ReportSettings(access_token=TOKEN))
    channel = await declare(running, "<script>alert(1)</script>")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close done")
    html = next(r.text for r in await reports(running) if r.format == "html")
    [script] = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    assert f'content="{policy}"' in html
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/html"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{running.url}/incidents/1/report", headers=headers) as answer,
    ):
        assert answer.headers["Content-Security-Policy"] == policy
        assert await answer.text() == html


async def test_an_open_incident_s_preview_runs_until_now(running: Running) -> None:
    channel = await declare(running, "Slow checkout")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "note queue depth growing")
    html = await running.bk.reports.draft(1, "html")
    assert html is not None and "<strong>Draft</strong>" in html
    assert "Open for" in glance(html) and "Resolved in" not in glance(html)
    assert "notes: 1, pins: 0, updates: 0." in html
    assert not await reports(running)  # a preview stores nothing
