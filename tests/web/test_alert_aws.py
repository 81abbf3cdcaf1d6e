"""`POST /alerts/aws-sns` end to end: the subscription confirmed for an allowed topic only,
signatures verified (versions 1 and 2, certificates from SNS hosts only), CloudWatch alarms,
GuardDuty and Security Hub findings carded and resolved. Messages: tests/samples/aws (README)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper.domain.alerts import aws_events
from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post
from tests.conftest import Running
from tests.examples import SAMPLES
from tests.sns import LOCAL_PATTERN, TOPIC, FakeSns, fake_sns

DOCS_TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"  # the SNS documentation's topic


def sample(name: str) -> Any:
    return json.loads((SAMPLES / "aws" / name).read_text(encoding="utf-8"))


def resigned(sns: FakeSns, published: dict[str, Any]) -> dict[str, Any]:
    """A published SNS message as our fake SNS would deliver it: its fields kept, its URLs on
    the fake's host and its signature ours (AWS's example signature cannot verify)."""
    body = dict(published, SigningCertURL=f"{sns.url}/SimpleNotificationService-test.pem")
    if "SubscribeURL" in body:
        body["SubscribeURL"] = f"{sns.url}/?" + body["SubscribeURL"].split("?", 1)[1]
    return sns.signed(body)


@pytest.fixture
async def sns() -> AsyncIterator[FakeSns]:
    async with fake_sns() as fake:
        yield fake


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator, sns: FakeSns) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(
            sns_topics=("arn:aws:sns:*:123456789012:ops-*", DOCS_TOPIC),
            sns_url_pattern=LOCAL_PATTERN,
        )


async def send(app: Running, body: dict[str, Any]) -> Any:
    headers = {"x-amz-sns-message-type": body["Type"], "Content-Type": "text/plain"}
    return await post(app, "aws-sns", body, token=None, headers=headers)


async def test_the_subscription_is_confirmed_only_for_an_allowed_topic(
    app: Running, sns: FakeSns
) -> None:
    other = sns.envelope("SubscriptionConfirmation", "subscribe?", topic=TOPIC + "-x")
    other["TopicArn"] = "arn:aws:sns:eu-west-1:999999999999:someone-elses"
    refused = await send(app, sns.signed(other))
    assert refused.status == 403 and "sns_topics" in refused.body["error"]
    assert sns.confirmations == []
    answer = await send(app, sns.envelope("SubscriptionConfirmation", "You have chosen to..."))
    assert answer.status == 200 and sns.confirmations == ["Action=Confirm"]
    assert await alerts(app) == []


async def test_a_cloudwatch_alarm_fires_a_card_and_ok_resolves_it(
    app: Running, sns: FakeSns
) -> None:
    alarm = sample("cloudwatch_alarm.json")
    fired = await send(app, sns.notification(alarm, subject='ALARM: "checkout-api-cpu-high"'))
    assert fired.status == 202, fired.body
    await app.settle()
    [card] = card_texts(app)
    assert "checkout-api-cpu-high" in card and "i-0a1b2c3d4e5f67890" in card
    assert "Threshold Crossed" in card

    ok = copy.deepcopy(alarm) | {"NewStateValue": "OK", "OldStateValue": "ALARM"}
    answer = await send(app, sns.notification(ok, version="1"))  # SHA1 signatures too
    assert answer.body["alerts"][0]["result"] == "resolved"
    assert (await alert(app, fired.body["alert_id"])).status == "resolved"
    assert sns.certificate_fetches == 1  # cached


async def test_findings_from_guardduty_and_security_hub(app: Running, sns: FakeSns) -> None:
    guardduty = await send(app, sns.notification(sample("guardduty_finding.json")))
    stored = await alert(app, guardduty.body["alert_id"])
    assert stored.title.startswith("198.51.100.23 is performing SSH brute force")
    assert (stored.severity, stored.source_severity) == ("sev2", "high (8)")
    assert stored.resource == "i-0a1b2c3d4e5f67890"

    hub = await send(app, sns.notification(sample("securityhub_findings.json")))
    results = [a["result"] for a in hub.body["alerts"]]
    assert results == ["new", "resolved"]
    await app.settle()
    assert any(
        "S3 general purpose buckets should block public access" in c for c in card_texts(app)
    )


async def test_a_redelivered_notification_changes_nothing(app: Running, sns: FakeSns) -> None:
    body = sns.notification(sample("composite_alarm.json"))
    for _ in range(3):
        assert (await send(app, body)).status == 202
    [row] = await alerts(app)
    assert row.occurrences == 1 and "ALARM(checkout-latency)" in row.description


@pytest.mark.parametrize("tamper", ["message", "signature", "certificate", "version"])
async def test_a_message_that_does_not_verify_is_refused_and_nothing_stored(
    app: Running, sns: FakeSns, tamper: str
) -> None:
    body = sns.notification(sample("cloudwatch_alarm.json"))
    if tamper == "message":
        body["Message"] = body["Message"].replace("checkout", "payroll")
    elif tamper == "signature":
        body["Signature"] = body["Signature"][:-8] + "AAAAAAA="
    elif tamper == "certificate":
        body["SigningCertURL"] = "https://attacker.example.com/cert.pem"
    else:
        body["SignatureVersion"] = "3"
    answer = await send(app, body)
    assert answer.status == 401, answer.body
    assert await alerts(app) == []


async def test_the_sns_documentations_own_messages(app: Running, sns: FakeSns) -> None:
    as_published = await send(app, sample("sns_docs_notification.json"))
    assert as_published.status == 401  # AWS's EXAMPLE signature, certificate on an SNS host
    assert await alerts(app) == []

    confirmation = resigned(sns, sample("sns_docs_subscription_confirmation.json"))
    answer = await send(app, confirmation)
    assert answer.status == 200 and answer.body == {"confirmed": DOCS_TOPIC}
    [confirmed] = sns.confirmations
    assert confirmed.startswith("Action=ConfirmSubscription&TopicArn=" + DOCS_TOPIC)

    notified = await send(app, resigned(sns, sample("sns_docs_notification.json")))
    assert notified.status == 202, notified.body
    stored = await alert(app, notified.body["alert_id"])
    assert stored.title == "My First Message" and "Hello world!" in stored.description
    await app.settle()
    assert any("My First Message" in card for card in card_texts(app))

    unsubscribed = await send(app, resigned(sns, sample("sns_docs_unsubscribe_confirmation.json")))
    assert unsubscribed.status == 200 and unsubscribed.body == {"unsubscribed": DOCS_TOPIC}
    assert len(await alerts(app)) == 1


async def test_the_cloudwatch_alarm_of_the_aws_lambda_go_fixtures(
    app: Running, sns: FakeSns
) -> None:
    [record] = sample("lambda_go_cloudwatch_alarm_single_metric.json")["Records"]
    published = record["Sns"]
    fired = await send(app, sns.notification(published["Message"], subject=published["Subject"]))
    assert fired.status == 202, fired.body
    stored = await alert(app, fired.body["alert_id"])
    assert (stored.title, stored.resource, stored.source_severity) == (
        "EXAMPLE",
        "TestInstance",
        "ALARM",
    )
    assert "State: ALARM (was INSUFFICIENT_DATA)" in stored.description
    await app.settle()
    [card] = card_texts(app)
    assert "EXAMPLE" in card and "TestInstance" in card and "Threshold Crossed" in card


async def test_the_guardduty_event_of_cloud_custodians_fixtures(app: Running, sns: FakeSns) -> None:
    event = sample("custodian_guardduty_ec2_event.json")
    answer = await send(app, sns.notification(event))
    assert answer.status == 202, answer.body
    stored = await alert(app, answer.body["alert_id"])
    assert stored.title == (
        "Command and Control server domain name queried by EC2 instance i-99999999."
    )
    assert (stored.severity, stored.source_severity) == ("sev3", "medium (5)")
    assert stored.resource == "i-99999999" and stored.status == "firing"
    assert "Finding type: Backdoor:EC2/C&CActivity.B!DNS" in stored.description
    assert "Account 883606788610, us-east-1" in stored.description
    await app.settle()
    [card] = card_texts(app)
    assert stored.link is not None and stored.link.endswith("fId=b4b01b60fc24a199139f8f5f490edd81")
    assert "Backdoor:EC2/C&amp;CActivity.B!DNS" in card  # escaped for Slack
    assert "Command and Control server domain name queried" in card and "i-99999999" in card


async def test_security_hubs_documented_event_with_guarddutys_typical_finding(
    app: Running, sns: FakeSns
) -> None:
    """AWS publishes the event with `{ <finding content> }` in place of the finding and, on
    another page, a typical GuardDuty finding in that format: put together, AWS's own text."""
    shell = (SAMPLES / "aws" / "securityhub_docs_findings_imported.txt").read_text()
    finding = (SAMPLES / "aws" / "guardduty_docs_securityhub_finding.json").read_text()
    event = json.loads(shell.replace("{\n         <finding content>\n       }", finding))
    answer = await send(app, sns.notification(event))
    assert answer.status == 202, answer.body
    stored = await alert(app, answer.body["alert_id"])
    assert stored.title == "199.241.229.197 is performing SSH brute force attacks against " + (
        "i-0c10c2c7863d1a356."
    )
    assert (stored.severity, stored.source_severity) == ("sev3", "MEDIUM")
    assert "Product: GuardDuty" in stored.description
    assert stored.resource.endswith("instance/i-0c10c2c7863d1a356")


def test_an_older_finding_with_only_a_normalized_severity_gets_its_band() -> None:
    finding = sample("guardduty_docs_securityhub_finding.json")
    finding["Severity"] = {"Normalized": 72}
    del finding["ProductFields"]
    event = {
        "source": "aws.securityhub",
        "detail-type": "Security Hub Findings - Imported",
        "detail": {"findings": [finding]},
    }
    [found] = aws_events.parse(event, received_at=datetime.now(UTC), source="aws-sns")
    assert (found.severity, found.source_severity) == ("sev2", "HIGH")
    assert "Product:" not in found.description
