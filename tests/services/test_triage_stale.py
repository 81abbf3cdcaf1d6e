"""Triage forms and buttons acted on after someone else triaged the alert: the later action is
refused clearly and changes nothing (it neither vanishes without a word nor overwrites)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, bridgekeepers, incidents
from tests.conftest import Running
from tests.services.test_triage import carded, click, open_view, selected, typed

pytestmark = pytest.mark.both_transports


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator, transport: str) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator, transport) as start:
        yield await start()


async def dismiss(app: Running, alert_id: int, ts: str, user: str = "U0ALICE") -> None:
    await click(app, "alert_dismiss", alert_id, ts, user=user)
    await app.settle()
    view_id = open_view(app, "alert_dismiss")
    await app.driver.view_submission(
        user=user,
        view_id=view_id,
        values={"disposition": selected("false_positive"), "comment": typed("our scanner")},
    )
    await app.settle()


async def test_a_link_submitted_after_the_alert_was_declared_says_so(app: Running) -> None:
    """Bob opens the Link form and picks incident 1; meanwhile Alice declares the alert (incident
    2). Bob's submission must not close the form as if the alert were now linked to 1."""
    await app.command("declare Database outage sev3")
    await app.settle()
    alert_id, ts = await carded(app)
    await click(app, "alert_link", alert_id, ts, user="U0BOB")
    await app.settle()
    view_id = open_view(app, "alert_link")
    await click(app, "alert_declare", alert_id, ts)  # Alice, on her copy of the card
    await app.settle()
    reply = await app.driver.view_submission(
        user="U0BOB", view_id=view_id, values={"incident": selected("1")}
    )
    await app.settle()
    stored = await alert(app, alert_id)
    assert stored.incident_number == 2  # not linked to 1, as Bob asked
    assert isinstance(reply.body, dict) and reply.body.get("response_action") == "errors"
    assert "already part of incident 2 (declared by @alice)" in reply.body["errors"]["incident"]


async def test_a_link_submitted_after_the_alert_was_dismissed_changes_nothing(
    app: Running,
) -> None:
    """Alice dismisses the alert as a false positive while Bob's Link form is open: Bob's
    submission must not silently turn the dismissed alert into a linked one that keeps its
    false-positive disposition (the stats would count an incident's alert as a false positive)."""
    await app.command("declare Database outage sev3")
    await app.settle()
    alert_id, ts = await carded(app)
    await click(app, "alert_link", alert_id, ts, user="U0BOB")
    await app.settle()
    link_view = open_view(app, "alert_link")
    await dismiss(app, alert_id, ts)
    reply = await app.driver.view_submission(
        user="U0BOB", view_id=link_view, values={"incident": selected("1")}
    )
    await app.settle()
    stored = await alert(app, alert_id)
    assert (stored.triage, stored.incident_id) == ("dismissed", None), (
        stored.triage,
        stored.incident_id,
        stored.disposition,
    )
    assert isinstance(reply.body, dict) and reply.body.get("response_action") == "errors"
    assert "already dismissed by @alice" in reply.body["errors"]["incident"]


async def test_declare_clicked_on_a_stale_card_of_a_dismissed_alert_changes_nothing(
    app: Running,
) -> None:
    """Bob clicks Declare on his copy of the card just after Alice dismissed the alert as a
    false positive: no incident is made from a dismissed alert; Bob is told it was dismissed."""
    alert_id, ts = await carded(app)
    await dismiss(app, alert_id, ts)
    reply = await click(app, "alert_declare", alert_id, ts, user="U0BOB")
    await app.settle()
    stored = await alert(app, alert_id)
    assert await incidents(app) == [], (stored.triage, stored.disposition, stored.incident_id)
    assert stored.triage == "dismissed"
    told = [p.body for p in app.slack.response_posts if p.url == reply.response_url]
    assert "already dismissed by <@U0ALICE>: nothing was changed" in json.dumps(told)


async def test_a_dismissal_submitted_after_the_alert_was_declared_says_so(app: Running) -> None:
    """Bob opens the Dismiss form; Alice declares the alert meanwhile. Bob's submission must
    not close the form as if his dismissal had been recorded."""
    alert_id, ts = await carded(app)
    await click(app, "alert_dismiss", alert_id, ts, user="U0BOB")
    await app.settle()
    view_id = open_view(app, "alert_dismiss")
    await click(app, "alert_declare", alert_id, ts)
    await app.settle()
    reply = await app.driver.view_submission(
        user="U0BOB",
        view_id=view_id,
        values={"disposition": selected("benign"), "comment": typed("a pentest")},
    )
    await app.settle()
    stored = await alert(app, alert_id)
    assert stored.triage == "declared" and stored.disposition is None
    assert isinstance(reply.body, dict) and reply.body.get("response_action") == "errors"
    assert "already part of incident 1" in reply.body["errors"]["disposition"]
