"""An incident's report in the console: linked from its page once it has one, shown as the
report's own HTML page, downloaded as Markdown or JSON; a private incident's report does not
exist for anyone outside it."""

from __future__ import annotations

import json

from tests.conftest import Running
from tests.console.conftest import Visitors, bridge, declare

SECRET = "Payroll exfiltration by contractor"


async def close(app: Running, number: int, summary: str) -> None:
    reply = await app.command(f"close {summary}", channel=bridge(app.slack, number))
    assert reply.status == 200
    await app.settle()


async def test_a_closed_incidents_report_is_linked_shown_and_downloaded(
    console: Running, visitors: Visitors
) -> None:
    await declare(console, "Website slow sev3")
    alice = visitors()
    await alice.sign_in()
    _, page = await alice.get("/console/incidents/1")
    assert "/console/incidents/1/report" not in page  # open: no report yet
    await close(console, 1, "CDN cache purged")
    _, page = await alice.get("/console/incidents/1")
    assert 'href="/console/incidents/1/report"' in page and "(version 1)" in page

    async with alice.http.get(console.url + "/console/incidents/1/report") as shown:
        assert shown.status == 200 and shown.content_type == "text/html"
        assert "script-src 'sha256-" in shown.headers["Content-Security-Policy"]
        assert "Website slow" in await shown.text()
    async with alice.http.get(console.url + "/console/incidents/1/report?format=md") as md:
        assert md.status == 200 and md.content_type == "text/markdown"
        assert md.headers["Content-Disposition"] == (
            'attachment; filename="incident-1-report-v1.md"'
        )
        assert "CDN cache purged" in await md.text()
    async with alice.http.get(console.url + "/console/incidents/1/report?format=json") as js:
        assert json.loads(await js.text())["incident"]["number"] == 1
    for wrong in ("?format=pdf", "?version=7", "?version=x"):
        status, _ = await alice.get(f"/console/incidents/1/report{wrong}")
        assert status == 404, wrong


async def test_a_private_incidents_report_is_not_found_for_those_outside_it(
    console: Running, visitors: Visitors
) -> None:
    await declare(console, f"{SECRET} sev1 private")
    await close(console, 1, "Contractor offboarded")
    dave, alice = visitors(), visitors()
    await dave.sign_in("U0DAVE")
    hidden = await dave.get("/console/incidents/1/report?format=md")
    missing = await dave.get("/console/incidents/99/report?format=md")
    assert hidden == missing and hidden[0] == 404 and SECRET not in hidden[1]
    await alice.sign_in()
    status, report = await alice.get("/console/incidents/1/report?format=md")
    assert status == 200 and SECRET in report and "CONFIDENTIAL" in report
