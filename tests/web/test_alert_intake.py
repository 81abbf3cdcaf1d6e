"""`POST /alerts/{source}` end to end: real HTTP in, the database and the Slack emulator out."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, func, select

from bridgekeeper.config import AutoDeclareRule
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.models import Effect
from tests.alerting import (
    LaterClock,
    Start,
    alert,
    alerts,
    bridgekeepers,
    card_texts,
    generic,
    hmac_hex,
    incidents,
    post,
    timeline,
    triage_channel,
)
from tests.conftest import Running
from tests.examples import EXAMPLE_SOURCES, example

VM = (
    "/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourcegroups/rg-prod-web"
    "/providers/microsoft.compute/virtualmachines/vm-web-01"
)
EXPECTED = {  # file -> (title, severity, dedup key, resource) of its first alert
    "alertmanager_firing.json": (
        "Host high CPU load on vm-web-01:9100",
        "sev2",
        "alertmanager:b4a1f0c9e2d37a65",
        "vm-web-01:9100",
    ),
    "azure_monitor_fired.json": (
        "vm-web-01-high-cpu",
        "sev2",
        "azure-monitor:/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/providers"
        "/microsoft.alertsmanagement/alerts/6f3e2f4c-9b1a-4c55-8c1e-2b7d0a9e4f11",
        VM,
    ),
    "datadog.json": ("High CPU on web hosts", "sev2", "datadog:6912573284716112233", "vm-web-01"),
    "defender_alert.json": (
        "Suspicious process detected",
        "sev2",
        "defender:2517125899166499999_5f3b7c2e-0d41-4a8e-9b6f-1c2d3e4f5a6b",
        VM,
    ),
    "grafana_firing.json": (
        "checkout-api 5xx error rate is 12.4% (threshold 5%)",
        "sev2",
        "grafana:7c3b5e9a1d2f4086",
        "checkout-api",
    ),
    "pagerduty_v3_triggered.json": (
        "Sev1: vm-web-01-high-cpu fired on vm-web-01",
        "sev2",
        "pagerduty:Q2Z8RK7W0YV3LM",
        "Web Platform (prod)",
    ),
    "sentinel_incident.json": (
        "Suspicious process detected",
        "sev2",
        "sentinel:9b2e6c41-7a3d-4e58-b1f0-3c8d2a5e7f19",
        VM,
    ),
}


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator) as start:
        yield start


@pytest.fixture
async def app(serve: Start) -> Running:
    return await serve()


# -- accepted and stored -------------------------------------------------------------------------
async def test_every_example_is_accepted_stored_and_carded(app: Running) -> None:
    for name, source in EXAMPLE_SOURCES.items():
        answer = await post(app, source, example(name))
        assert answer.status == 202, (name, answer.body)
        first = answer.body["alerts"][0]
        assert first["result"] == "new" and first["incident"] is None
        stored = await alert(app, first["alert_id"])
        title, severity, dedup_key, resource = EXPECTED[name]
        assert (stored.title, stored.severity, stored.dedup_key, stored.resource) == (
            title,
            severity,
            dedup_key,
            resource,
        )
        assert stored.source == source and stored.occurrences == 1 and stored.raw
    await app.settle()
    assert len(await alerts(app)) == 8  # the Alertmanager group holds two
    cards = card_texts(app)
    assert len(cards) == 8
    assert any("Suspicious process detected" in c and "Microsoft Defender" in c for c in cards)
    assert all("alert_declare" in c and "alert_ack" in c for c in cards)


async def test_a_group_answers_one_entry_per_alert(app: Running) -> None:
    answer = await post(app, "alertmanager", example("alertmanager_firing.json"))
    assert answer.status == 202
    assert [a["result"] for a in answer.body["alerts"]] == ["new", "new"]
    assert "alert_id" not in answer.body  # two alerts: no single top-level answer


async def test_the_event_loop_turns_between_the_alerts_of_a_batch(app: Running) -> None:
    """On SQLite a statement runs without the event loop (store/inline_sqlite.py); 30 new
    alerts in one webhook, ten or so statements each, must not hold every ack until all are
    stored: the loop comes round between alerts."""
    group = example("alertmanager_firing.json")
    one = group["alerts"][0]
    group["alerts"] = [
        {**one, "fingerprint": f"batch{n:011d}", "labels": {**one["labels"], "n": str(n)}}
        for n in range(30)
    ]
    turns = 0

    async def turning() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    at_each_alert: list[int] = []

    def stored(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.startswith("INSERT INTO alerts "):
            at_each_alert.append(turns)

    for engine in app.bk.db.engines:
        event.listen(engine, "before_cursor_execute", stored)
    ticker = asyncio.create_task(turning())
    try:
        answer = await post(app, "alertmanager", group)
    finally:
        ticker.cancel()
        for engine in app.bk.db.engines:
            event.remove(engine, "before_cursor_execute", stored)
    assert answer.status == 202 and len(at_each_alert) == 30
    assert len(set(at_each_alert)) == 30  # the loop turned before each next alert


async def test_a_repeat_counts_without_a_new_alert_or_card(app: Running) -> None:
    first = await post(app, "generic", generic("Disk full on db-01", dedup_key="db-01/disk"))
    await app.settle()
    again = await post(
        app, "generic", generic("Disk full on db-01", dedup_key="db-01/disk", id="second")
    )
    assert again.status == 202
    assert again.body["result"] == "duplicate"
    assert again.body["alert_id"] == first.body["alert_id"]
    stored = await alert(app, first.body["alert_id"])
    assert stored.occurrences == 2 and stored.last_seen >= stored.first_seen
    await app.settle()
    assert len(app.slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("name", "source"),
    [("pagerduty_v3_triggered.json", "pagerduty"), ("datadog.json", "datadog")],
)
async def test_a_redelivered_webhook_is_a_no_op(app: Running, name: str, source: str) -> None:
    """PagerDuty and Datadog name their deliveries: the same one twice counts once."""
    first = await post(app, source, example(name))
    again = await post(app, source, example(name))
    assert again.status == 202
    assert again.body["result"] == "duplicate"
    assert again.body["alert_id"] == first.body["alert_id"]
    assert (await alert(app, first.body["alert_id"])).occurrences == 1


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("alertmanager_firing.json", "alertmanager"),
        ("grafana_firing.json", "grafana"),
        ("azure_monitor_fired.json", "azure-monitor"),
    ],
)
async def test_the_same_body_again_is_one_more_occurrence(
    app: Running, name: str, source: str
) -> None:
    """These senders resend the same bytes while an alert keeps firing."""
    first = await post(app, source, example(name))
    await app.settle()
    for _ in range(3):
        again = await post(app, source, example(name))
        assert again.status == 202
        assert again.body["alerts"][0]["result"] == "duplicate"
    stored = await alert(app, first.body["alerts"][0]["alert_id"])
    assert stored.occurrences == 4 and stored.last_seen > stored.first_seen
    await app.settle()
    assert len(app.slack.calls_to("chat.postMessage")) == len(first.body["alerts"])


async def test_the_same_bytes_resolve_the_alert_once_its_end_time_has_passed(
    serve: Start,
) -> None:
    """An alert with no status of its own whose `endsAt` is ahead fires until then: the same
    body sent again afterwards resolves it (repeats are not parsed again only while what they
    say cannot change)."""
    clock = LaterClock()
    app = await serve(clock=clock)
    body = example("alertmanager_firing.json")
    for item in body["alerts"]:
        del item["status"]
        item["endsAt"] = (clock.now() + timedelta(minutes=10)).isoformat()
    sent = json.dumps(body).encode()
    results = [(await post(app, "alertmanager", sent)).body["alerts"][0] for _ in range(3)]
    assert [r["result"] for r in results] == ["new", "duplicate", "duplicate"]
    clock.advance(minutes=11)
    again = (await post(app, "alertmanager", sent)).body["alerts"][0]
    assert (again["alert_id"], again["result"]) == (results[0]["alert_id"], "resolved")
    assert (await alert(app, again["alert_id"])).status == "resolved"


async def test_below_the_threshold_stored_and_counted_without_a_card(app: Running) -> None:
    low = generic("Certificate expires in 60 days", severity="low", dedup_key="cert")
    await post(app, "generic", low)
    answer = await post(app, "generic", low | {"id": "2"})
    await app.settle()
    stored = await alert(app, answer.body["alert_id"])
    assert stored.severity == "sev4" and stored.occurrences == 2
    assert card_texts(app) == []


# -- resolved ------------------------------------------------------------------------------------
def resolved_variant(name: str) -> Any:
    """The resolved notification for each firing example, as FORMATS.md describes it."""
    body = copy.deepcopy(example(name))
    if name == "azure_monitor_fired.json":
        body["data"]["essentials"]["monitorCondition"] = "Resolved"
        body["data"]["essentials"]["resolvedDateTime"] = "2025-11-14T10:31:12.000Z"
    elif name == "defender_alert.json":
        body["Status"] = "Resolved"
    elif name == "sentinel_incident.json":
        body["objectEventType"] = "Update"
        body["eventUniqueId"] = "closed-" + body.get("eventUniqueId", "")
        body["object"]["properties"]["status"] = "Closed"
        body["object"]["properties"]["classification"] = "TruePositive"
    elif name in ("alertmanager_firing.json", "grafana_firing.json"):
        body["status"] = "resolved"
        body["state"] = "ok"
        for item in body["alerts"]:
            item["status"] = "resolved"
            item["endsAt"] = "2025-11-14T10:40:00Z"
    elif name == "pagerduty_v3_triggered.json":
        body["event"]["event_type"] = "incident.resolved"
        body["event"]["id"] = "resolved-" + body["event"]["id"]
        body["event"]["data"]["status"] = "resolved"
    elif name == "datadog.json":
        body["alert_transition"] = "Recovered"
        body["alert_type"] = "success"
        body["id"] = body["id"] + "1"
    return body


@pytest.mark.parametrize("name", sorted(EXAMPLE_SOURCES))
async def test_a_resolved_notification_resolves_the_alert_and_its_card(
    app: Running, name: str
) -> None:
    source = EXAMPLE_SOURCES[name]
    fired = await post(app, source, example(name))
    await app.settle()
    answer = await post(app, source, resolved_variant(name))
    assert answer.status == 202, answer.body
    first = answer.body["alerts"][0]
    assert first == {
        "alert_id": fired.body["alerts"][0]["alert_id"],
        "result": "resolved",
        "incident": None,
    }
    stored = await alert(app, first["alert_id"])
    assert stored.status == "resolved" and stored.resolved_at is not None
    await app.settle()
    card = next(c for c in card_texts(app) if json.dumps(stored.title)[1:-1] in c)
    assert "*Status:* resolved" in card
    assert len(app.slack.calls_to("chat.update")) >= 1
    again = await post(app, source, resolved_variant(name))
    assert again.body["alerts"][0]["result"] == "duplicate"


# -- refused -------------------------------------------------------------------------------------
async def test_wrong_or_missing_credentials_are_refused(app: Running) -> None:
    body = generic("Forged")
    assert (await post(app, "generic", body, token="wrong")).status == 401
    assert (await post(app, "generic", body, token=None)).status == 401
    refused = await post(app, "generic", body, token="", query="?token=nope")
    assert refused.status == 401
    assert "credentials" in refused.body["error"]
    accepted = await post(app, "generic", body, token=None, query="?token=test-alert-token")
    assert accepted.status == 202
    assert len(await alerts(app)) == 1


async def test_a_source_token_replaces_the_shared_one(serve: Start) -> None:
    app = await serve(source_tokens={"datadog": "datadog-only"})
    body = example("datadog.json")
    assert (await post(app, "datadog", body)).status == 401
    assert (await post(app, "datadog", body, token="datadog-only")).status == 202
    assert (await post(app, "generic", generic("x"), token="datadog-only")).status == 401
    assert (await post(app, "generic", generic("x"))).status == 202


async def test_with_no_secret_configured_everything_is_refused(
    serve: Start, caplog: pytest.LogCaptureFixture
) -> None:
    app = await serve(token=None)
    for source in ("generic", "pagerduty", "nonsense"):
        assert (await post(app, source, generic("x"))).status == 401
    warnings = [r.message for r in caplog.records if "BRIDGEKEEPER_ALERT_TOKEN" in r.message]
    assert len(warnings) == 1


async def test_pagerduty_signatures_valid_invalid_and_rotated(serve: Start) -> None:
    app = await serve(pagerduty_secrets=("old-secret", "new-secret"))
    body = json.dumps(example("pagerduty_v3_triggered.json")).encode()
    good = hmac_hex("new-secret", body)

    async def send(signature: str) -> int:
        headers = {"X-PagerDuty-Signature": signature}
        return (await post(app, "pagerduty", body, token=None, headers=headers)).status

    assert await send("v1=" + "0" * 64) == 401
    assert await send("") == 401
    assert (await post(app, "pagerduty", body)).status == 401  # the bearer token is not enough
    assert await send(f"v1={good}") == 202
    rotated = f"v1={hmac_hex('retired', body)}, v1={hmac_hex('old-secret', body)}"
    assert await send(rotated) == 202
    assert len(await alerts(app)) == 1


async def test_grafana_signature_with_and_without_timestamp(serve: Start) -> None:
    app = await serve(grafana_secret="grafana-secret")
    body = json.dumps(example("grafana_firing.json")).encode()

    async def send(headers: dict[str, str]) -> int:
        return (await post(app, "grafana", body, token=None, headers=headers)).status

    assert await send({"X-Grafana-Alerting-Signature": "00"}) == 401
    assert await send({"X-Grafana-Alerting-Signature": hmac_hex("grafana-secret", body)}) == 202
    now = str(int(time.time()))
    stamped = hmac_hex("grafana-secret", now.encode() + b":" + body)
    assert (
        await send(
            {
                "X-Grafana-Alerting-Signature": stamped,
                "X-Grafana-Alerting-Signature-Timestamp": now,
            }
        )
        == 202
    )
    old = "1000000000"
    replayed = {
        "X-Grafana-Alerting-Signature": hmac_hex("grafana-secret", old.encode() + b":" + body),
        "X-Grafana-Alerting-Signature-Timestamp": old,
    }
    assert await send(replayed) == 401


async def test_malformed_wrong_shape_and_unknown_source(app: Running) -> None:
    malformed = await post(app, "generic", b'{"title": "unterminated')
    assert malformed.status == 400
    assert "not valid JSON" in malformed.body["error"]
    shape = await post(app, "generic", {"severity": "sev2"})
    assert shape.status == 422
    assert shape.body["error"] == "title is missing"
    azure = await post(app, "azure-monitor", {"schemaId": "something-else", "data": {}})
    assert azure.status == 422 and "schemaId" in azure.body["error"]
    unknown = await post(app, "nagios", generic("x"))
    assert unknown.status == 404 and "nagios" in unknown.body["error"]
    assert await alerts(app) == []


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
async def test_a_number_json_has_not_is_stored_as_null(app: Running, token: bytes) -> None:
    """Python writes NaN and infinities into JSON (a script's unknown value); PostgreSQL's json
    type refuses them: the alert is taken all the same, on either database."""
    body = b'{"title": "Disk usage unknown on db-01", "severity": "sev2", "value": ' + token + b"}"
    answer = await post(app, "generic", body)
    assert answer.status == 202, answer.body
    [stored] = await alerts(app)
    assert stored.title == "Disk usage unknown on db-01" and stored.raw["value"] is None


async def test_a_body_over_the_limit_is_refused_before_it_is_read(app: Running) -> None:
    big = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = await post(app, "generic", big)
    assert answer.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies as read
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": "Bearer test-alert-token"}
        async with session.post(
            f"{app.url}/alerts/generic", data=chunks(), headers=headers
        ) as response:
            assert response.status == 413
    assert await alerts(app) == []


# -- what reaches Slack --------------------------------------------------------------------------
async def test_an_alert_title_cannot_mention_anyone(app: Running) -> None:
    title = "<!channel> disk & <@U0ALICE> <https://evil.example|click>"
    description = "<!here> look\n[button alert_ack 1] injected"
    await post(app, "generic", generic(title, description=description))
    await app.settle()
    [card] = app.slack.messages(triage_channel(app))
    header, *rest = card.blocks
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert header["text"]["text"] == f"SEV2 · {title}"  # plain text: Slack shows it literally
    mrkdwn = json.dumps(rest)
    assert "&lt;!here&gt; look" in mrkdwn and "<!" not in mrkdwn
    assert card.text.startswith("SEV2 · &lt;!channel&gt; disk &amp; &lt;@U0ALICE&gt;")
    actions = [b for b in card.blocks if b["type"] == "actions"]
    assert len(actions) == 1 and len(actions[0]["elements"]) == 4  # nothing injected
    assert app.slack.unsafe_mentions() == []


# -- grouping and auto-declare -------------------------------------------------------------------
async def test_the_vm_web_01_alerts_group_into_one_incident_and_grafana_stays_apart(
    serve: Start,
) -> None:
    rule = AutoDeclareRule(
        sources=("defender", "sentinel"), min_severity=Severity.SEV2, private=True
    )
    app = await serve(auto_declare=(rule,))
    declared = await post(app, "defender", example("defender_alert.json"))
    # a private incident is not named to whoever holds the alert token
    assert declared.body["result"] == "new" and declared.body["incident"] is None
    related = [
        ("azure-monitor", "azure_monitor_fired.json"),
        ("sentinel", "sentinel_incident.json"),
        ("datadog", "datadog.json"),
        ("pagerduty", "pagerduty_v3_triggered.json"),
    ]
    vm_web_01 = {declared.body["alert_id"]}
    for source, name in related:
        answer = await post(app, source, example(name))
        assert (answer.body["result"], answer.body["incident"]) == ("attached", None), name
        vm_web_01.add(answer.body["alert_id"])
    group = await post(app, "alertmanager", example("alertmanager_firing.json"))
    host_cpu = group.body["alerts"][0]  # the group's vm-web-01 alert
    assert (host_cpu["result"], host_cpu["incident"]) == ("attached", None)
    vm_web_01.add(host_cpu["alert_id"])
    grafana = await post(app, "grafana", example("grafana_firing.json"))
    assert grafana.body["alerts"][0] == {
        "alert_id": grafana.body["alerts"][0]["alert_id"],
        "result": "new",
        "incident": None,
    }
    await app.settle()

    [incident] = await incidents(app)
    defender = await alert(app, declared.body["alert_id"])
    assert incident.private and incident.detected_at == defender.first_seen
    entries = await timeline(app, incident.id)
    attached = {e.data["alert_id"] for e in entries if e.kind == "alert_attached"}
    assert vm_web_01 <= attached and grafana.body["alert_id"] not in attached
    assert (await alert(app, grafana.body["alert_id"])).incident_id is None
    channel = app.slack.channel_by_name("inc-1-suspicious-process-detected")
    assert channel is not None and channel.is_private
    cards = card_texts(app)  # attached alerts get no card of their own
    assert sum("Part of a private incident" in c for c in cards) == 1  # number not shown
    assert sum("checkout-api" in c for c in cards) == 1
    assert not any("Host high CPU load on vm-web-01" in c for c in cards)


async def test_a_host_of_the_same_name_in_another_domain_stays_apart(serve: Start) -> None:
    """A private security incident on web-01.corp.example.com does not take in a disk alert
    from web-01.staging.example.net: that one gets its own triage card."""
    rule = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV1, private=True)
    app = await serve(auto_declare=(rule,))
    corp = generic("Beacon to a known C2", severity="sev1")
    await post(app, "generic", corp | {"entities": {"hosts": ["web-01.corp.example.com"]}})
    disk = generic("Disk full on web-01.staging", severity="sev2")
    staging = await post(
        app, "generic", disk | {"entities": {"hosts": ["web-01.staging.example.net"]}}
    )
    assert staging.body["result"] == "new", staging.body
    await app.settle()
    assert any("Disk full on web-01.staging" in card for card in card_texts(app))
    same = generic("Beacon again", severity="sev2", entities={"hosts": ["web-01"]})
    assert (await post(app, "generic", same)).body["result"] == "attached"


async def test_an_attached_alert_raises_the_incident_severity(serve: Start) -> None:
    rule = AutoDeclareRule(sources=("defender",), min_severity=Severity.SEV2)
    app = await serve(auto_declare=(rule,))
    await post(app, "defender", example("defender_alert.json"))
    worse = generic("Ransom note on vm-web-01", severity="sev1", entities={"hosts": ["vm-web-01"]})
    answer = await post(app, "generic", worse)
    assert answer.body["result"] == "attached"
    await app.settle()
    [incident] = await incidents(app)
    assert incident.severity == "sev1" and incident.initial_severity == "sev2"
    [change] = [e for e in await timeline(app, incident.id) if e.kind == "severity_changed"]
    assert change.data == {
        "from": "sev2",
        "to": "sev1",
        "reason": f"alert {answer.body['alert_id']}",
    }
    channel = app.slack.channels[incident.channel_id or ""]
    assert "SEV1" in channel.topic


async def test_a_closed_incident_keeps_its_severity_when_its_alert_repeats_worse(
    serve: Start,
) -> None:
    """The tool still fires the alert after the close, now SEV1: the incident stays as it was
    closed (its report says SEV2), and nothing is added to its timeline after the close."""
    rule = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV2)
    app = await serve(auto_declare=(rule,))
    disk = generic("Disk full on db-01", dedup_key="db-01-disk", resource="db-01")
    await post(app, "generic", disk)
    await app.settle()
    [incident] = await incidents(app)
    await app.command("role commander <@U0ALICE>", channel=incident.channel_id)
    await app.settle()  # commands are applied after their acks, concurrently
    await app.command("close Cleaned up the disk", channel=incident.channel_id)
    await app.settle()
    worse = generic("Disk full on db-01", dedup_key="db-01-disk", resource="db-01", severity="sev1")
    assert (await post(app, "generic", worse)).body["incident"] == 1
    await app.settle()
    [incident] = await incidents(app)
    assert (incident.status, incident.severity) == ("closed", "sev2")
    assert [e.kind for e in await timeline(app, incident.id)][-1] == "closed"


async def test_unrelated_alerts_stay_apart(serve: Start) -> None:
    rule = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV1)
    app = await serve(auto_declare=(rule,))
    first = await post(app, "generic", generic("db-01 down", severity="sev1", resource="db-01"))
    other = await post(app, "generic", generic("web-09 slow", resource="web-09"))
    assert first.body["incident"] == 1
    assert (other.body["result"], other.body["incident"]) == ("new", None)


# -- a storm -------------------------------------------------------------------------------------
STORM_ALERTS = 5000
STORM_KEYS = 50
STORM_CONCURRENCY = 20


@pytest.mark.slow(3)
async def test_an_alert_storm_is_stored_whole_and_updates_each_card_a_few_times(
    serve: Start,
) -> None:
    """5,000 alerts on 50 dedup keys from 20 concurrent senders: every one counted, 50 cards,
    each updated a few times (at most every card_refresh_seconds, 20 by default)."""
    clock = LaterClock()
    app = await serve(clock=clock, triage_cards_per_minute=STORM_KEYS)  # no digest card here
    numbers = iter(range(STORM_ALERTS))
    statuses: list[int] = []

    async def sender(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            key = n % STORM_KEYS
            body = generic(f"CPU high on web-{key}", dedup_key=f"cpu-{key}", id=f"e{n}")
            statuses.append((await post(app, "generic", body, session=session)).status)

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=STORM_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(sender(session) for _ in range(STORM_CONCURRENCY)))
    ingest = time.monotonic() - started
    clock.advance(seconds=app.bk.settings.alerts.card_refresh_seconds)  # the last renders fall due
    await _all_delivered(app, timeout=30)

    assert statuses == [202] * STORM_ALERTS
    stored = await alerts(app)
    assert len(stored) == STORM_KEYS
    assert sum(a.occurrences for a in stored) == STORM_ALERTS
    posts = app.slack.calls_to("chat.postMessage")
    updates = app.slack.calls_to("chat.update")
    assert len(posts) == STORM_KEYS
    per_card = Counter(str(call.args.get("ts")) for call in updates)
    assert max(per_card.values(), default=0) <= 5, per_card
    assert all("*Count:* 100" in c for c in card_texts(app)), [
        re.findall(r"Count:\* \d+", c) for c in card_texts(app)
    ]
    print(
        f"storm: {STORM_ALERTS} alerts in {ingest:.1f}s ({STORM_ALERTS / ingest:.0f}/s), "
        f"{len(posts)} posts, {len(updates)} updates, at most {max(per_card.values())} per card"
    )


async def _all_delivered(app: Running, timeout: float) -> None:
    """Every effect delivered, including card renders scheduled for later."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.bk.worker.wake()
        async with app.bk.db.sessions() as session:
            query = select(func.count()).select_from(Effect).where(Effect.status == "pending")
            if not await session.scalar(query):
                return
        await asyncio.sleep(0.1)
    raise AssertionError("effects still pending")
