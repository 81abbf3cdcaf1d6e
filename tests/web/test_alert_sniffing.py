"""A body posted to the wrong place is refused with what it looks like and where it should go;
/alerts/generic refuses fields of other tools that would change the alert's meaning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alerts, bridgekeepers, post
from tests.conftest import Running
from tests.domain.test_alert_gcp import sample as gcp_sample

SNS_CONFIRMATION = {
    "Type": "SubscriptionConfirmation",
    "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ops-alarms",
    "Message": "You have chosen to subscribe to the topic ops-alarms.",
    "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
    "Timestamp": "2025-11-14T10:00:00.000Z",
    "SignatureVersion": "1",
    "Signature": "EXAMPLE",
    "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem",
}
ALERTMANAGER = {
    "receiver": "ops",
    "status": "firing",
    "groupKey": "{}:{}",
    "alerts": [],
    "version": "4",
}
AZURE_OLD_SCHEMA = {"schemaId": "AzureMonitorMetricAlert", "data": {"status": "Activated"}}


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


@pytest.mark.parametrize(
    ("route", "body", "status", "said"),
    [
        (
            "generic",
            SNS_CONFIRMATION,
            422,
            "looks like an AWS SNS subscription confirmation: post it to /alerts/aws-sns",
        ),
        (
            "generic",
            {"ruleName": "cpu", "state": "alerting", "evalMatches": []},
            422,
            "looks like a legacy Grafana alert: post it to /alerts/grafana",
        ),
        (
            "generic",
            {"Type": "Notification", "TopicArn": "arn:aws:sns:x", "Message": "m"},
            422,
            "looks like an AWS SNS notification: post it to /alerts/aws-sns",
        ),
        ("defender", {"schemaId": "AIP Budget Notification"}, 422, "SystemAlertId is missing"),
        (
            "generic",
            {"value": [{"id": "da6375", "providerAlertId": "da6375", "title": "Hidden file"}]},
            422,
            "looks like a Microsoft Defender XDR alert from Microsoft Graph: post it to"
            " /alerts/defender",
        ),
        ("generic", ALERTMANAGER, 422, "post it to /alerts/alertmanager or /alerts/grafana"),
        (
            "azure-monitor",
            None,
            422,
            "looks like a Google Cloud Monitoring notification: post it to /alerts/gcp",
        ),
        ("azure-monitor", AZURE_OLD_SCHEMA, 422, "data.context is missing"),
        (
            "generic",
            AZURE_OLD_SCHEMA,
            422,
            "looks like an Azure Monitor alert: post it to /alerts/azure-monitor",
        ),
        ("nagios", {"message": "x", "alias": "y"}, 404, "post it to /v2/alerts"),
        (
            "generic",
            {"title": "Disk full", "state": "CLOSED"},
            422,
            "state is not a field of the generic format: use status",
        ),
        ("generic", {"title": "Disk full", "priority": "CRITICAL"}, 422, "use severity"),
    ],
)
async def test_a_misposted_body_is_told_where_to_go_and_nothing_stored(
    app: Running, route: str, body: Any, status: int, said: str
) -> None:
    answer = await post(app, route, body if body is not None else gcp_sample("open.json"))
    assert answer.status == status and said in answer.body["error"], answer.body
    assert await alerts(app) == []


async def test_a_body_of_the_right_shape_with_a_wrong_field_gets_no_advice(app: Running) -> None:
    answer = await post(app, "generic", {"title": "Disk full", "severity": "sev9"})
    assert answer.status == 422 and "looks like" not in answer.body["error"]


async def test_a_body_with_no_alert_in_it_is_accepted_and_says_so(app: Running) -> None:
    recommendation = {
        "type": "Microsoft.Security/assessments",
        "name": "4fb67663",
        "properties": {"status": {"code": "Healthy"}},
    }
    answer = await post(app, "defender", recommendation)
    assert answer.status == 202 and answer.body["alerts"] == []
    assert "nothing in this body is an alert" in answer.body["ignored"]
    assert await alerts(app) == []
